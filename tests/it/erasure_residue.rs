//! Erasure leaves no residue: after a supervisor erases a client through the API, no file
//! under the installation's folders (the SQLite database, its WAL and shared memory, the
//! data dir) holds any of her sealed values or her wrapped data key, not even the old
//! page images a WAL keeps. On PostgreSQL the files are the server's (see
//! `Db::truncate_wal` for what is and is not guaranteed there); the test checks that no
//! row anywhere still holds them.

use std::path::Path;

use crate::kit::world::*;
use serde_json::json;
use sqlx::Row;

/// Every byte of every regular file under `dir`.
fn every_file(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.push((path.display().to_string(), bytes));
            }
        }
    }
    out
}

fn holding<'a>(files: &'a [(String, Vec<u8>)], needle: &[u8]) -> Vec<&'a str> {
    files
        .iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[tokio::test]
async fn an_erased_client_leaves_no_sealed_bytes_or_wrapped_key_in_any_file() {
    let w = world().await;
    let sw = w.login("sw.vinh").await;
    let sup = w.login("sup.vinh").await;
    let created = open_case(&sw, intake()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let pool = &w.state().db.pool;
    let sealed_now = || async {
        let row = sqlx::query(
            "SELECT full_name_sealed, chosen_name_sealed, date_of_birth_sealed, id_number_sealed, phone_sealed, \
             address_sealed, notes_sealed FROM clients WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(pool)
        .await
        .unwrap();
        (0..7)
            .filter_map(|i| row.get::<Option<Vec<u8>>, _>(i))
            .collect::<Vec<_>>()
    };
    // What an attacker who copies the files later would look for: every sealed value the
    // client ever had (before and after an edit) and her wrapped key.
    let mut needles: Vec<(String, Vec<u8>)> = sealed_now()
        .await
        .into_iter()
        .map(|b| ("sealed field".to_owned(), b))
        .collect();
    let (status, body) = patch(
        &sw,
        &format!("/api/v1/clients/{id}"),
        json!({ "version": 1, "notes": "Đã chuyển chỗ ở, cần hỗ trợ thêm", "phone": "0987 654 321" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let current = needles.len();
    needles.extend(
        sealed_now()
            .await
            .into_iter()
            .map(|b| ("edited sealed field".to_owned(), b)),
    );
    let wrapped: Vec<u8> = sqlx::query_scalar("SELECT wrapped_key FROM client_keys WHERE client_id = $1")
        .bind(&id)
        .fetch_one(pool)
        .await
        .unwrap();
    needles.push(("wrapped data key".to_owned(), wrapped));
    assert!(needles.len() >= 9, "{}", needles.len());
    assert!(needles.iter().all(|(_, b)| b.len() >= 28));

    let root = w.env.dir.path();
    if !w.env.db.is_postgres() {
        // The scan sees them while she is a client: the test looks where they are.
        let files = every_file(root);
        for (what, bytes) in &needles[current..] {
            assert!(
                !holding(&files, bytes).is_empty(),
                "the {what} is not found before erasure"
            );
        }
    }

    let res = sup
        .post(
            &format!("/api/v1/clients/{id}/erase"),
            json!({ "reason": "Thân chủ yêu cầu xóa dữ liệu" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);

    let files = every_file(root);
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    if w.env.db.is_postgres() {
        assert!(total > 0, "the key files were read");
    } else {
        assert!(total > 10_000, "the installation's files were read ({total} bytes)");
        assert!(files.iter().any(|(name, _)| name.ends_with("hoanhap.db")));
    }
    for (what, bytes) in &needles {
        let found = holding(&files, bytes);
        assert!(found.is_empty(), "the erased client's {what} survives in {found:?}");
    }
    if w.env.db.is_postgres() {
        let values = every_stored_value(pool).await;
        for (what, bytes) in &needles {
            assert!(
                !values.windows(bytes.len()).any(|v| v == bytes.as_slice()),
                "the erased client's {what} survives in a table"
            );
        }
    }
}
