//! Dashboard sessions against a real SQLite file and a real PostgreSQL server: a session is read
//! together with the account signed in with it, in one query, and never outlives its expiry or
//! its account's password reset.

use vidpress_store::testing::TestDb;

vidpress_store::both_backends!(a_session_is_read_with_its_account);

async fn a_session_is_read_with_its_account(db: &TestDb) {
    let store = &db.store;
    let writer = store
        .create_user("writer@example.org", "$argon2id$stand-in-hash")
        .await
        .unwrap()
        .unwrap();
    let other = store.ensure_user("other@example.org").await.unwrap();
    store
        .create_session("signed-in", Some(writer.id), r#"{"user":1}"#, i64::MAX)
        .await
        .unwrap();
    store
        .create_session("anonymous", None, "{}", i64::MAX)
        .await
        .unwrap();
    store
        .create_session("expired", Some(writer.id), "{}", 1)
        .await
        .unwrap();

    let signed_in = store.load_session("signed-in").await.unwrap().unwrap();
    assert_eq!(signed_in.data, r#"{"user":1}"#);
    assert_eq!(
        signed_in.user.as_ref(),
        Some(&writer),
        "the account comes with the row"
    );
    assert!(signed_in.user.unwrap().has_password);
    let anonymous = store.load_session("anonymous").await.unwrap().unwrap();
    assert_eq!(anonymous.user, None, "nobody signed in");
    assert!(store.load_session("expired").await.unwrap().is_none());
    assert!(store.load_session("unknown").await.unwrap().is_none());

    // Saving under another account reads that account next time.
    store
        .save_session("signed-in", Some(other.id), "{}", i64::MAX)
        .await
        .unwrap();
    let switched = store.load_session("signed-in").await.unwrap().unwrap();
    assert_eq!(
        switched.user.map(|u| u.email),
        Some("other@example.org".to_owned())
    );
}
