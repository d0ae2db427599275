//! One ledger entry and its MAC.

use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::crypto::ChainKeys;

/// An erasure as the ledger records it: codes and ids only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub seq: i64,
    pub client_id: String,
    pub code: String,
    pub erased_at: String,
    /// The user id of whoever erased, `system` for retention.
    pub erased_by: Option<String>,
    #[serde(with = "hex_bytes")]
    pub mac: Vec<u8>,
}

impl LedgerEntry {
    /// Length-prefixed fields, so no two different entries encode alike.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        let seq = self.seq.to_string();
        for field in [
            Some(seq.as_str()),
            Some(self.client_id.as_str()),
            Some(self.code.as_str()),
            Some(self.erased_at.as_str()),
            self.erased_by.as_deref(),
        ] {
            match field {
                None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
                Some(s) => {
                    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX - 1).to_be_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        out
    }

    /// `HMAC(key, entry ‖ previous)`.
    pub fn compute_mac(&self, key: &hmac::Key, previous: &[u8]) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(&self.encode());
        ctx.update(previous);
        ctx.sign().as_ref().to_vec()
    }

    /// Whether this entry's MAC is right after `previous`, with the key of its time.
    pub fn verifies(&self, keys: &ChainKeys, previous: &[u8]) -> bool {
        hmac::verify(
            keys.for_seq(self.seq),
            &{
                let mut m = self.encode();
                m.extend_from_slice(previous);
                m
            },
            &self.mac,
        )
        .is_ok()
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}
