//! The lines of a backup stream and how values are written in them.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::Kind;

pub const FORMAT: &str = "hoanhap-backup/1";

/// The first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    /// The last migration applied to the database backed up.
    pub schema_version: i64,
    /// `sqlite` or `postgres`: where it came from (it restores into either).
    pub engine: String,
    pub taken_at: String,
    /// The id of the master key the data keys are wrapped with.
    pub key_id: String,
    /// `seq:mac` of the audit trail at the snapshot.
    pub audit_head: String,
    /// `master.age` as it was (age-encrypted to the server and the recovery recipients),
    /// base64: with a recovery identity, the backup alone restores an installation.
    pub master_age: String,
    /// The recovery recipients `master.age` was encrypted to (public keys).
    pub recovery_recipients: Vec<String>,
}

/// The last line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub tables: BTreeMap<String, u64>,
}

/// One line of the stream.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Line {
    Row(Vec<Value>),
    Header { header: Header },
    Table { table: String, columns: Vec<String> },
    Manifest { manifest: Manifest },
}

/// Bytes are written as `{"b": base64}` so they are not mistaken for text.
pub fn bytes(value: &[u8]) -> Value {
    serde_json::json!({ "b": STANDARD.encode(value) })
}

/// A value read back, typed for the column it goes into.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Bool(Option<bool>),
    Int(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// Reads `value` as a value of a column of `kind`; `None` if it cannot be one.
pub fn typed(value: &Value, kind: Kind) -> Option<Typed> {
    Some(match (kind, value) {
        (Kind::Bool, Value::Null) => Typed::Bool(None),
        (Kind::Bool, Value::Bool(b)) => Typed::Bool(Some(*b)),
        (Kind::Bool, Value::Number(n)) => Typed::Bool(Some(n.as_i64()? != 0)),
        (Kind::Int, Value::Null) => Typed::Int(None),
        (Kind::Int, Value::Number(n)) => Typed::Int(Some(n.as_i64()?)),
        (Kind::Int, Value::Bool(b)) => Typed::Int(Some(i64::from(*b))),
        (Kind::Text, Value::Null) => Typed::Text(None),
        (Kind::Text, Value::String(s)) => Typed::Text(Some(s.clone())),
        (Kind::Bytes, Value::Null) => Typed::Bytes(None),
        (Kind::Bytes, Value::Object(o)) => Typed::Bytes(Some(STANDARD.decode(o.get("b")?.as_str()?).ok()?)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_reads_back_as_what_was_written() {
        let row = Line::Row(vec![
            Value::Null,
            Value::from(3),
            Value::from("a"),
            bytes(&[0, 255]),
            Value::from(true),
        ]);
        let text = serde_json::to_string(&row).unwrap();
        let Line::Row(values) = serde_json::from_str(&text).unwrap() else {
            panic!("not a row: {text}");
        };
        assert_eq!(typed(&values[1], Kind::Int), Some(Typed::Int(Some(3))));
        assert_eq!(typed(&values[2], Kind::Text), Some(Typed::Text(Some("a".into()))));
        assert_eq!(typed(&values[3], Kind::Bytes), Some(Typed::Bytes(Some(vec![0, 255]))));
        assert_eq!(typed(&values[4], Kind::Bool), Some(Typed::Bool(Some(true))));
        assert_eq!(typed(&values[2], Kind::Int), None);
        let table: Line = serde_json::from_str(r#"{"table":"clients","columns":["id"]}"#).unwrap();
        assert!(matches!(table, Line::Table { .. }));
        let manifest: Line = serde_json::from_str(r#"{"manifest":{"tables":{"clients":2}}}"#).unwrap();
        assert!(matches!(manifest, Line::Manifest { manifest } if manifest.tables["clients"] == 2));
    }
}
