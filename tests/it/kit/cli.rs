//! Running the real binary against a test installation.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use super::TestEnv;

pub fn command(env: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoanhap"));
    cmd.args(args)
        .env_clear()
        .env("HOANHAP_DATA_DIR", env.data_dir())
        .env("HOANHAP_DATABASE_URL", &env.db.url)
        .env("HOANHAP_LISTEN", "127.0.0.1:0")
        .env("HOANHAP_PROGRAMME__AREA_SEED", "nghe-an-2024")
        .current_dir(env.dir.path());
    cmd
}

/// Runs the binary with `stdin` as its standard input.
pub fn run(env: &TestEnv, args: &[&str], stdin: &str) -> Output {
    run_command(command(env, args), stdin)
}

/// Runs a prepared command with `stdin` as its standard input.
pub fn run_command(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The command may exit before it reads (bad arguments): a broken pipe is no failure.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
pub fn assert_fails(out: &Output, needle: &str) {
    let all = text(out);
    assert!(!out.status.success(), "it succeeded: {all}");
    assert!(all.contains(needle), "`{needle}` not in: {all}");
    assert!(!all.contains("panicked"), "{all}");
}

#[track_caller]
pub fn assert_ok(out: &Output) -> String {
    let all = text(out);
    assert!(out.status.success(), "{all}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
