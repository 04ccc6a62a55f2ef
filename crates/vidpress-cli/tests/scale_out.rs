//! Scale-out through a shared data directory (deploy/README.md, "Shared uploads"): a web node
//! that runs no workers receives an upload, and a separate worker process finds the file where
//! the web node wrote it and turns it into a draft.

mod support;

use support::{Api, Instance, signal};

#[tokio::test]
async fn an_upload_to_a_web_node_is_transcribed_by_a_separate_worker_process() {
    let vp = Instance::new();
    let web = vp.start(&["serve", "--no-workers"], &[]).await;
    let api = Api::new(&vp.base());
    let id = api.upload(&support::media("speech.mkv")).await;

    let worker = vp.start(&["worker"], &[]).await;
    let status = api.wait_until_finished(id).await;
    assert_eq!(status["state"], "ready", "{status:#}");
    let markdown = status["draft"]["markdown"].as_str().expect("a draft");
    let recall = support::recall(&support::script_words(), markdown);
    assert!(
        recall >= 0.85,
        "the draft holds the script's words: {markdown}"
    );
    assert!(
        vp.scratch_entries().is_empty(),
        "the worker removed the upload: {:?}",
        vp.scratch_entries()
    );
    signal(&worker, "-TERM");
    signal(&web, "-TERM");
}
