//! The two migration folders stay twins: migrated from empty, SQLite and PostgreSQL hold
//! the same tables with the same columns, so the one SQL text the code runs on both
//! engines finds what it names on either.

use std::collections::{BTreeMap, BTreeSet};

use hoanhap::db::Db;
use secrecy::SecretString;
use sqlx::Row;

use crate::kit::TestDb;

type Schema = BTreeMap<String, BTreeSet<String>>;

async fn schema(db: &Db, sql: &str) -> Schema {
    let mut schema = Schema::new();
    for row in sqlx::query(sql).fetch_all(&db.pool).await.unwrap() {
        schema
            .entry(row.get::<String, _>("t"))
            .or_default()
            .insert(row.get::<String, _>("c"));
    }
    schema
}

/// What one side has and the other lacks, table by table.
fn difference(a: &Schema, b: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    for (table, columns) in a {
        match b.get(table) {
            None => out.push(format!("table {table}")),
            Some(other) => out.extend(columns.difference(other).map(|c| format!("{table}.{c}"))),
        }
    }
    out
}

#[tokio::test]
#[ignore = "needs PostgreSQL too: runs with HOANHAP_TEST_DATABASE_URL set"]
async fn both_engines_hold_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = TestDb::new(dir.path()).await;
    assert!(
        postgres.is_postgres(),
        "set HOANHAP_TEST_DATABASE_URL to a PostgreSQL database to compare the migrations"
    );
    let sqlite_url = format!("sqlite://{}?mode=rwc", dir.path().join("twin.db").display());
    let sqlite = Db::connect(&SecretString::from(sqlite_url)).await.unwrap();
    let pg = Db::connect(&SecretString::from(postgres.url.clone())).await.unwrap();

    let lite = schema(
        &sqlite,
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
    )
    .await;
    let post = schema(
        &pg,
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .await;
    assert!(lite.len() > 20, "the migrations made {} tables", lite.len());
    let only_sqlite = difference(&lite, &post);
    let only_postgres = difference(&post, &lite);
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "the migration folders differ: only in SQLite {only_sqlite:?}, only in PostgreSQL {only_postgres:?}"
    );
    pg.pool.close().await;
}
