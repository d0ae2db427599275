//! What the database holds, read from its catalogue: the tables in an order that inserts
//! each after those it references, their columns and the kinds of value they store.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{AnyConnection, Row};

use crate::db::Engine;

/// How a column's values are written in a backup (the engines' types differ, these agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Text,
    Bytes,
}

impl Kind {
    fn of(declared: &str) -> Self {
        let t = declared.to_ascii_lowercase();
        if t.contains("bool") {
            Self::Bool
        } else if t.contains("int") {
            Self::Int
        } else if t.contains("blob") || t.contains("bytea") {
            Self::Bytes
        } else {
            Self::Text
        }
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Kind)>,
    /// A column referencing another column of the same table (`areas.parent`): rows
    /// are inserted parents first.
    pub self_reference: Option<(String, String)>,
}

/// Tables that are not backed up: live sessions, one-time set-up tokens, login throttling
/// and job leases are state of the running servers, not of the installation.
pub const NOT_BACKED_UP: &[&str] = &[
    "_sqlx_migrations",
    "sessions",
    "setup_tokens",
    "login_throttle",
    "job_leases",
];

/// Tables the migrations fill on an empty database; a restore replaces their rows.
pub const SEEDED: &[&str] = &[
    "audit_head",
    "erasure_head",
    "service_categories",
    "stats_publication_lock",
];

/// Every table worth backing up, each after the tables it references.
pub async fn tables(conn: &mut AnyConnection, engine: Engine) -> Result<Vec<Table>, sqlx::Error> {
    let names: Vec<String> = match engine {
        Engine::Sqlite => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .fetch_all(&mut *conn)
            .await?
        }
        Engine::Postgres => {
            sqlx::query_scalar(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| !NOT_BACKED_UP.contains(&n.as_str()))
        .collect();
    let keys = foreign_keys(conn, engine).await?;
    let mut tables = BTreeMap::new();
    for name in &names {
        let rows = match engine {
            Engine::Sqlite => {
                sqlx::query("SELECT name AS c, type AS t FROM pragma_table_info($1) ORDER BY cid")
                    .bind(name)
                    .fetch_all(&mut *conn)
                    .await?
            }
            Engine::Postgres => sqlx::query(
                "SELECT CAST(column_name AS TEXT) AS c, CAST(data_type AS TEXT) AS t FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(name)
            .fetch_all(&mut *conn)
            .await?,
        };
        let columns = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("c")?, Kind::of(&r.try_get::<String, _>("t")?))))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let self_reference = keys
            .iter()
            .find(|k| &k.table == name && &k.references == name)
            .map(|k| (k.column.clone(), k.referenced_column.clone()));
        tables.insert(
            name.clone(),
            Table {
                name: name.clone(),
                columns,
                self_reference,
            },
        );
    }
    Ok(in_dependency_order(tables, &keys))
}

struct ForeignKey {
    table: String,
    column: String,
    references: String,
    referenced_column: String,
}

async fn foreign_keys(conn: &mut AnyConnection, engine: Engine) -> Result<Vec<ForeignKey>, sqlx::Error> {
    let sql = match engine {
        Engine::Sqlite => {
            "SELECT m.name AS t, p.\"from\" AS c, p.\"table\" AS r, COALESCE(p.\"to\", '') AS rc \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) p WHERE m.type = 'table'"
        }
        Engine::Postgres => {
            "SELECT CAST(cl.relname AS TEXT) AS t, CAST(a.attname AS TEXT) AS c, CAST(rf.relname AS TEXT) AS r, \
             CAST(ra.attname AS TEXT) AS rc \
             FROM pg_constraint co \
             JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_class rf ON rf.oid = co.confrelid \
             JOIN pg_namespace n ON n.oid = cl.relnamespace \
             JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] \
             JOIN pg_attribute ra ON ra.attrelid = co.confrelid AND ra.attnum = co.confkey[1] \
             WHERE co.contype = 'f' AND n.nspname = current_schema()"
        }
    };
    sqlx::query(sql)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(ForeignKey {
                table: r.try_get("t")?,
                column: r.try_get("c")?,
                references: r.try_get("r")?,
                referenced_column: r.try_get("rc")?,
            })
        })
        .collect()
}

/// Depth-first: each table after every table it references (self-references aside).
fn in_dependency_order(mut tables: BTreeMap<String, Table>, keys: &[ForeignKey]) -> Vec<Table> {
    let mut needs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in keys.iter().filter(|k| k.table != k.references) {
        needs
            .entry(key.table.clone())
            .or_default()
            .insert(key.references.clone());
    }
    fn visit(
        name: &str,
        needs: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(name.to_owned()) {
            return;
        }
        for dependency in needs.get(name).into_iter().flatten() {
            visit(dependency, needs, seen, out);
        }
        out.push(name.to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    let names: Vec<String> = tables.keys().cloned().collect();
    for name in &names {
        visit(name, &needs, &mut seen, &mut order);
    }
    order.into_iter().filter_map(|name| tables.remove(&name)).collect()
}

/// The last migration applied.
pub async fn version(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE")
        .fetch_one(&mut *conn)
        .await
}
