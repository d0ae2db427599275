//! Start-up refuses to run with missing, wrong or damaged keys, with a message naming the
//! file and a non-zero exit, never a panic. Runs the real binary.

use std::path::Path;
use std::process::{Command, Output};

use crate::kit::TestDb;

fn hoanhap(data_dir: &Path, db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hoanhap"))
        .args(args)
        .env_clear()
        .env("HOANHAP_DATA_DIR", data_dir)
        .env("HOANHAP_DATABASE_URL", db_url)
        .env("HOANHAP_LISTEN", "127.0.0.1:0")
        .current_dir(data_dir.parent().unwrap())
        .output()
        .unwrap()
}

/// `serve` with a broken key setup exits at once; the message must name `file`.
fn assert_refuses(out: &Output, file: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(file), "the message does not name {file}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn init_then_broken_keys_stop_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = TestDb::new(dir.path()).await;

    let init = hoanhap(&data, &db.url, &["init"]);
    let stderr = String::from_utf8_lossy(&init.stderr);
    assert!(init.status.success(), "{stderr}");
    assert!(stderr.contains("warning: no recovery recipient"), "{stderr}");
    let identity = data.join("keys/identity.txt");
    let master = data.join("keys/master.age");
    let good_identity = std::fs::read(&identity).unwrap();
    let good_master = std::fs::read(&master).unwrap();

    // init refuses to overwrite.
    let again = hoanhap(&data, &db.url, &["init"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // Missing identity.
    std::fs::remove_file(&identity).unwrap();
    assert_refuses(&hoanhap(&data, &db.url, &["serve"]), "identity.txt");

    // Wrong identity (another installation's).
    let stranger = age::x25519::Identity::generate();
    use secrecy::ExposeSecret;
    std::fs::write(&identity, stranger.to_string().expose_secret()).unwrap();
    let out = hoanhap(&data, &db.url, &["serve"]);
    assert_refuses(&out, "master.age");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be decrypted"));

    // Garbage identity.
    std::fs::write(&identity, "not a key").unwrap();
    assert_refuses(&hoanhap(&data, &db.url, &["serve"]), "identity.txt");

    // Damaged master.age.
    std::fs::write(&identity, &good_identity).unwrap();
    let mut damaged = good_master.clone();
    let n = damaged.len();
    damaged[n - 5] ^= 0xff;
    std::fs::write(&master, &damaged).unwrap();
    let out = hoanhap(&data, &db.url, &["serve"]);
    assert_refuses(&out, "master.age");
    std::fs::write(&master, b"age-encryption.org/v1\n-> garbage").unwrap();
    assert_refuses(&hoanhap(&data, &db.url, &["serve"]), "master.age");

    // Missing master.age.
    std::fs::remove_file(&master).unwrap();
    assert_refuses(&hoanhap(&data, &db.url, &["serve"]), "master.age");

    // A complete, valid key pair of another installation against this database.
    std::fs::remove_file(&identity).unwrap();
    let other = hoanhap(&data, &db.url, &["init"]);
    assert!(!other.status.success(), "init on a database of another key must fail");
    assert!(String::from_utf8_lossy(&other.stderr).contains("is not the key this database was created with"));
    std::fs::remove_file(&identity).unwrap();
    std::fs::remove_file(&master).unwrap();
    std::fs::write(&identity, &good_identity).unwrap();
    std::fs::write(&master, &good_master).unwrap();

    // A bad setting is named.
    let out = Command::new(env!("CARGO_BIN_EXE_hoanhap"))
        .env_clear()
        .env("HOANHAP_LISTEN", "nowhere")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));
}

#[tokio::test]
async fn init_with_a_bad_recovery_recipient_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let db = TestDb::new(dir.path()).await;
    let out = hoanhap(&data, &db.url, &["init", "--recovery-recipient", "age1nonsense"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("recovery recipient 0"));
    assert!(!data.join("keys/identity.txt").exists());
}
