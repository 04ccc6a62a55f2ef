//! Connections and exports on SQLite and PostgreSQL: per-user scoping, one export of a draft to
//! a connection at a time with its job enqueued together, the remote post kept across exports.

use vidpress_core::JobKind;
use vidpress_store::exports::{
    ConnectionKind, ExportDone, ExportRequest, ExportState, NewConnection,
};
use vidpress_store::testing::TestDb;
use vidpress_store::videos::{NewDraft, save_draft};
use vidpress_store::{JobState, MediaSource, Store, UserId};

async fn draft(store: &Store, user: UserId) -> i64 {
    let (video, _) = store
        .create_video(
            user,
            "Talk",
            MediaSource::Url("https://example.com/v.mp4"),
            3,
        )
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    save_draft(
        &mut tx,
        video,
        user,
        &NewDraft {
            title: "Talk",
            slug: "talk",
            body: "{}",
            markdown: "# Talk\n",
            html: "<h1>Talk</h1>",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store.draft_for_video(video).await.unwrap().unwrap().id
}

fn wordpress<'a>(name: &'a str, sealed: &'a str) -> NewConnection<'a> {
    NewConnection {
        kind: ConnectionKind::WordPress,
        name,
        url: "https://blog.example.org/",
        username: Some("editor"),
        sealed_secret: sealed,
    }
}

async fn connections_belong_to_their_user(db: TestDb) {
    let store = &db.store;
    let alice = store.ensure_user("alice@example.org").await.unwrap().id;
    let bob = store.ensure_user("bob@example.org").await.unwrap().id;
    let id = store
        .create_connection(alice, &wordpress("blog", "v1:sealed"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .create_connection(alice, &wordpress("blog", "v1:x"))
            .await
            .unwrap(),
        None,
        "names are unique per user"
    );
    assert!(
        store
            .create_connection(bob, &wordpress("blog", "v1:y"))
            .await
            .unwrap()
            .is_some()
    );
    let mine = store.connection_for_user(alice, id).await.unwrap().unwrap();
    assert_eq!(
        (
            mine.kind,
            mine.username.as_deref(),
            mine.sealed_secret.as_str()
        ),
        (ConnectionKind::WordPress, Some("editor"), "v1:sealed")
    );
    assert!(!format!("{mine:?}").contains("v1:sealed"));
    assert!(store.connection_for_user(bob, id).await.unwrap().is_none());
    assert!(!store.delete_connection(bob, id).await.unwrap());
    store
        .record_connection_test(alice, id, false, "wrong password")
        .await
        .unwrap();
    let tested = store
        .connection_by_name(alice, "blog")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tested.test_ok, Some(false));
    assert_eq!(tested.test_message.as_deref(), Some("wrong password"));
    assert_eq!(store.connections(alice).await.unwrap().len(), 1);
    assert!(store.delete_connection(alice, id).await.unwrap());
    assert!(store.connections(alice).await.unwrap().is_empty());
}

async fn exports_keep_the_remote_post(db: TestDb) {
    let store = &db.store;
    let user = store.ensure_user("alice@example.org").await.unwrap().id;
    let draft = draft(store, user).await;
    let connection = store
        .create_connection(user, &wordpress("blog", "v1:sealed"))
        .await
        .unwrap()
        .unwrap();
    let ExportRequest::Queued { export_id, job_id } = store
        .request_export(user, draft, connection, "draft", None, 3)
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    let job = store.job(job_id).await.unwrap();
    assert_eq!((job.kind, job.state), (JobKind::Export, JobState::Queued));
    assert_eq!(job.payload["export_id"], export_id);
    assert_eq!(
        store
            .request_export(user, draft, connection, "draft", None, 3)
            .await
            .unwrap(),
        ExportRequest::AlreadyRunning { export_id }
    );
    let mut tx = store.begin().await.unwrap();
    Store::finish_export(
        &mut tx,
        export_id,
        &ExportDone {
            remote_id: "42",
            remote_url: "https://blog.example.org/?p=42",
            remote_updated_at: None,
            remote_image: Some("{\"reference\":\"7\",\"sha256\":\"ab\"}"),
            message: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let ExportRequest::Queued {
        export_id: again, ..
    } = store
        .request_export(user, draft, connection, "publish", None, 3)
        .await
        .unwrap()
    else {
        panic!("queued again");
    };
    assert_eq!(again, export_id, "one row per draft and connection");
    let export = store.export(export_id).await.unwrap().unwrap();
    assert_eq!(export.state, ExportState::Queued);
    assert_eq!(export.post_status, "publish");
    assert_eq!(
        export.remote_id.as_deref(),
        Some("42"),
        "the remote post is kept"
    );
    assert_eq!(export.connection_name, "blog");
    let other = store.ensure_user("bob@example.org").await.unwrap().id;
    assert!(
        store
            .export_for_user(other, export_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .exports_for_draft(other, draft)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.exports_for_draft(user, draft).await.unwrap().len(), 1);
    assert_eq!(store.exports_for_user(user).await.unwrap().len(), 1);
}

mod sqlite {
    #[tokio::test]
    async fn connections_belong_to_their_user() {
        super::connections_belong_to_their_user(super::TestDb::sqlite().await).await;
    }
    #[tokio::test]
    async fn exports_keep_the_remote_post() {
        super::exports_keep_the_remote_post(super::TestDb::sqlite().await).await;
    }
}

mod postgres {
    #[tokio::test]
    async fn connections_belong_to_their_user() {
        super::connections_belong_to_their_user(super::TestDb::postgres().await).await;
    }
    #[tokio::test]
    async fn exports_keep_the_remote_post() {
        super::exports_keep_the_remote_post(super::TestDb::postgres().await).await;
    }
}
