//! `vidpress user add` and `vidpress user reset-password` through the real binary: the password
//! comes on standard input, is stored as an Argon2id hash, and a reset ends the user's sessions.

mod support;

use std::io::Write;
use std::process::Stdio;

use support::Instance;

fn run(vp: &Instance, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut cmd = vp.command(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn hash_of(vp: &Instance, email: &str) -> Option<String> {
    let store = vidpress_store::Store::connect(&vp.database_url, &Default::default())
        .await
        .unwrap();
    let hash = store.password_hash(email).await.unwrap().map(|(_, h)| h);
    store.close().await;
    hash
}

#[tokio::test]
async fn operators_add_accounts_and_reset_passwords_from_standard_input() {
    let vp = Instance::new();
    let (ok, out, err) = run(
        &vp,
        &["user", "add", "Writer@Example.org"],
        "first password here\n",
    );
    assert!(ok, "{err}");
    assert!(out.contains("created writer@example.org"), "{out}");
    let first = hash_of(&vp, "writer@example.org")
        .await
        .expect("a password is stored");
    assert!(first.starts_with("$argon2id$"), "{first}");
    assert!(!first.contains("first password"));

    let (ok, _, err) = run(
        &vp,
        &["user", "add", "writer@example.org"],
        "another password\n",
    );
    assert!(!ok);
    assert!(err.contains("already has an account"), "{err}");
    let (ok, _, err) = run(&vp, &["user", "add", "someone@example.org"], "short\n");
    assert!(!ok);
    assert!(err.contains("at least 10 characters"), "{err}");
    let (ok, _, err) = run(
        &vp,
        &["user", "add", "not-an-email"],
        "long enough password\n",
    );
    assert!(!ok);
    assert!(err.contains("email address"), "{err}");

    // A session of the user, ended by the reset.
    let store = vidpress_store::Store::connect(&vp.database_url, &Default::default())
        .await
        .unwrap();
    let user = store
        .user_by_email("writer@example.org")
        .await
        .unwrap()
        .unwrap();
    store
        .create_session("k", Some(user.id), "{}", i64::MAX)
        .await
        .unwrap();
    let (ok, out, err) = run(
        &vp,
        &["user", "reset-password", "writer@example.org"],
        "second password here\n",
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("password of writer@example.org changed"),
        "{out}"
    );
    assert_ne!(hash_of(&vp, "writer@example.org").await.unwrap(), first);
    assert!(
        store.load_session("k").await.unwrap().is_none(),
        "its sessions are ended"
    );
    store.close().await;
    let (ok, _, err) = run(
        &vp,
        &["user", "reset-password", "nobody@example.org"],
        "second password here\n",
    );
    assert!(!ok);
    assert!(err.contains("no account nobody@example.org"), "{err}");
}
