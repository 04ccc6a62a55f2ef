//! Black-box tests of the `vidpress` binary: it serves health checks on SQLite and PostgreSQL,
//! shuts down cleanly on SIGTERM, and refuses bad configuration with a message naming the key.

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vidpress_store::testing::TestDb;

fn vidpress() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vidpress"));
    cmd.env_remove("VIDPRESS_CONFIG").env("RUST_LOG", "info");
    cmd
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls until the server answers `/healthz`; the process must be up within 30 s.
async fn wait_until_up(child: &mut Child, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            assert_eq!(r.status(), 200);
            assert_eq!(r.text().await.unwrap(), "ok");
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("vidpress serve exited early with {status}");
        }
        assert!(Instant::now() < deadline, "vidpress serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: Child) -> Output {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

async fn serves_and_stops_cleanly(database_url: &str, workdir: &std::path::Path) {
    let port = free_port();
    let mut child = vidpress()
        .arg("serve")
        .current_dir(workdir)
        .env("VIDPRESS_LISTEN", format!("127.0.0.1:{port}"))
        .env("VIDPRESS_DATABASE_URL", database_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&mut child, &base).await;
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");

    let out = terminate(child);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}; logs:\n{logs}", out.status);
    assert!(
        logs.contains("shutdown requested") && logs.contains("stopped cleanly"),
        "{logs}"
    );
    // Logs to a pipe (a file, a journal) carry no colour codes.
    assert!(
        !logs.contains('\u{1b}'),
        "escape codes in piped logs: {logs:?}"
    );
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "still serving after exit"
    );
}

#[tokio::test]
async fn serve_on_the_default_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    // No database URL: the default is a SQLite file under ./data, created on first start.
    let port = free_port();
    let mut child = vidpress()
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("VIDPRESS_DATABASE_URL")
        .env("VIDPRESS_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_up(&mut child, &format!("http://127.0.0.1:{port}")).await;
    let out = terminate(child);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/vidpress.db").exists());

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/other/v.db", dir.path().display());
    serves_and_stops_cleanly(&url, dir.path()).await;
}

#[tokio::test]
async fn serve_on_postgres() {
    let db = TestDb::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    serves_and_stops_cleanly(&db.url, dir.path()).await;
}

#[test]
fn bad_configuration_names_the_key() {
    let out = vidpress()
        .arg("serve")
        .env("VIDPRESS_LISTEN", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`listen`") && err.contains("VIDPRESS_LISTEN"),
        "{err}"
    );
}

#[test]
fn unreachable_database_names_the_url_without_its_password() {
    let port = free_port();
    let out = vidpress()
        .arg("migrate")
        .env(
            "VIDPRESS_DATABASE_URL",
            format!("postgres://vidpress:hunter2@127.0.0.1:{port}/vidpress"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "postgres://vidpress:***@127.0.0.1:{port}/vidpress"
        )),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn migrate_applies_the_schema_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    for _ in 0..2 {
        let out = vidpress()
            .arg("migrate")
            .env("VIDPRESS_DATABASE_URL", &url)
            // Enough logging to see the format (migrations log their statements at debug).
            .env("RUST_LOG", "debug")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
        // Logs written to a pipe or file carry no colour codes.
        let logs = String::from_utf8_lossy(&out.stderr);
        assert!(logs.contains("DEBUG"), "the run logged: {logs}");
        assert!(
            !logs.contains('\u{1b}'),
            "colour codes in the log: {logs:?}"
        );
    }
}

#[test]
fn help_lists_the_commands() {
    let out = vidpress().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "worker", "migrate", "bench"] {
        assert!(help.contains(cmd), "{cmd} missing from:\n{help}");
    }
}
