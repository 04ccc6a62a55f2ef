//! The real yt-dlp (pinned, from `.venv`, installed by scripts/python-tools.sh) against files
//! served on 127.0.0.1: success with progress, and each failure's typed error.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::{CLIP_SECONDS, Media, Server, SmallDisk, process_running_with, ytdlp};
use vidpress_media::{
    FetchError, FetchOptions, FetchProgress, decode_audio, fetch, fetch_frames, fetch_video,
    frames_of, has_video, thumbnail_of,
};

fn options() -> FetchOptions {
    FetchOptions {
        ytdlp: ytdlp(),
        timeout: Duration::from_secs(120),
        socket_timeout: Duration::from_secs(20),
        // The tests serve plain files on 127.0.0.1: yt-dlp's generic extractor handles them.
        extractors: "default".into(),
        addresses: vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
        ..FetchOptions::default()
    }
}

/// The files named `stem.*` in `dir`.
fn files_named(dir: &Path, stem: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{stem}.")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits (up to 15 s) until no process has `needle` in its command line.
async fn wait_until_gone(needle: &str) -> bool {
    for _ in 0..150 {
        if !process_running_with(needle) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn downloads_a_served_video_with_progress() {
    let media = Media::new();
    let served = tempfile::tempdir().unwrap();
    let video = media.encode("talk.mp4", Some("libx264"), &["-c:a", "aac"]);
    std::fs::copy(&video, served.path().join("talk.mp4")).unwrap();
    let size = std::fs::metadata(&video).unwrap().len();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();

    let mut reports: Vec<FetchProgress> = Vec::new();
    let path = fetch(
        &server.url("talk.mp4"),
        out.path(),
        "job-17",
        &options(),
        |p| reports.push(p),
    )
    .await
    .unwrap_or_else(|e| panic!("fetch failed: {e}"));

    // Our name, the source's extension, and the bytes the server sent.
    assert_eq!(path, out.path().join("job-17.mp4"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&video).unwrap()
    );
    assert_eq!(
        files_named(out.path(), "job-17"),
        vec![path.clone()],
        "no leftovers"
    );

    assert!(!reports.is_empty(), "no progress reported");
    let last = reports.last().unwrap();
    assert_eq!(last.downloaded_bytes, size);
    assert_eq!(last.total_bytes, Some(size));
    assert_eq!(last.percent, Some(100.0));
    assert!(reports.iter().any(|r| r.finished));
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].downloaded_bytes <= w[1].downloaded_bytes),
        "bytes went backwards: {reports:?}"
    );

    let samples = decode_audio(&path, |_| {}).unwrap();
    let seconds = samples.len() as f64 / 16_000.0;
    assert!((seconds - CLIP_SECONDS).abs() < 0.05, "{seconds} s");

    // A retry of a finished fetch finds the file in place and keeps it.
    let again = fetch(
        &server.url("talk.mp4"),
        out.path(),
        "job-17",
        &options(),
        |_| {},
    )
    .await
    .unwrap_or_else(|e| panic!("second fetch failed: {e}"));
    assert_eq!(again, path);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&video).unwrap()
    );
}

/// A video as YouTube serves one: a DASH manifest whose sound and pictures are separate
/// streams, and no thumbnail.
fn dash_site(media: &Media, dir: &Path) {
    let sound = media.encode("sound.m4a", None, &["-c:a", "aac"]);
    std::fs::copy(sound, dir.join("sound.m4a")).unwrap();
    std::fs::copy(media.video_without_audio(), dir.join("pictures.mp4")).unwrap();
    std::fs::write(
        dir.join("watch.mpd"),
        r#"<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT8S"
     profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" minBufferTime="PT2S">
  <Period>
    <AdaptationSet contentType="video" mimeType="video/mp4">
      <Representation id="pictures" codecs="avc1.42c00a" bandwidth="50000" width="64" height="64">
        <BaseURL>pictures.mp4</BaseURL>
      </Representation>
    </AdaptationSet>
    <AdaptationSet contentType="audio" mimeType="audio/mp4">
      <Representation id="sound" codecs="mp4a.40.2" bandwidth="128000" audioSamplingRate="44100">
        <BaseURL>sound.m4a</BaseURL>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"#,
    )
    .unwrap();
}

#[tokio::test]
async fn a_video_without_a_thumbnail_gives_a_small_copy_of_its_pictures() {
    let media = Media::new();
    let served = tempfile::tempdir().unwrap();
    dash_site(&media, served.path());
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let url = server.url("watch.mpd");

    // The sound is fetched alone, and the site gave no thumbnail.
    let fetched = fetch_video(&url, out.path(), "source", &options(), |_| {})
        .await
        .unwrap_or_else(|e| panic!("fetch failed: {e}"));
    assert!(!has_video(&fetched.path), "{}", fetched.path.display());
    assert_eq!(thumbnail_of(&fetched.path), None);
    assert_eq!(frames_of(&fetched.path), None);

    let mut reports = Vec::new();
    let frames = fetch_frames(&url, out.path(), "source", &options(), |p| reports.push(p))
        .await
        .unwrap_or_else(|e| panic!("fetching the pictures failed: {e}"));
    assert_eq!(frames, out.path().join("source.frames.mp4"));
    assert!(has_video(&frames), "the pictures have a video stream");
    assert_eq!(frames_of(&fetched.path), Some(frames.clone()));
    assert!(reports.iter().any(|r| r.finished), "{reports:?}");
    assert_eq!(
        {
            let mut names = files_named(out.path(), "source");
            names.sort();
            names
        },
        vec![frames.clone(), fetched.path.clone()],
        "the sound and its pictures, nothing else"
    );

    // A video that is sound only has no pictures to give: a clear error, nothing left behind.
    let other = tempfile::tempdir().unwrap();
    let error = fetch_frames(
        &server.url("sound.m4a"),
        other.path(),
        "source",
        &options(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::NoPictures { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: no pictures: the site offers no video stream",
            server.url("sound.m4a")
        )
    );
    assert!(!error.is_retryable());
    assert_eq!(files_named(other.path(), "source"), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn missing_video_is_not_found() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let url = server.url("missing.mp4");
    let error = fetch(&url, out.path(), "v1", &options(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::NotFound { .. }), "{error:?}");
    assert!(!error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains(&url) && message.contains("404"),
        "{message}"
    );
    assert!(files_named(out.path(), "v1").is_empty());
}

#[tokio::test]
async fn link_to_a_non_media_file_is_not_a_video_and_is_removed() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(
        served.path().join("data.json"),
        r#"{"kind": "not a video"}"#,
    )
    .unwrap();
    std::fs::write(
        served.path().join("fake.mp4"),
        "plain text pretending to be a video\n",
    )
    .unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();

    for name in ["data.json", "fake.mp4"] {
        let error = fetch(&server.url(name), out.path(), "v2", &options(), |_| {})
            .await
            .unwrap_err();
        let FetchError::NotMedia { reason, .. } = &error else {
            panic!("{name}: expected NotMedia, got {error:?}");
        };
        assert!(
            matches!(reason, vidpress_media::AudioError::NotMedia { .. }),
            "{name}: {reason:?}"
        );
        assert!(error.to_string().contains("not a video"), "{error}");
        assert!(!error.is_retryable());
        assert!(
            files_named(out.path(), "v2").is_empty(),
            "{name}: download left behind"
        );
    }
    // yt-dlp did download them (its generic extractor saves any direct link).
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /data.json"))
    );
}

#[tokio::test]
async fn page_without_media_is_unsupported() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(
        served.path().join("page.html"),
        "<!doctype html><html><head><title>Hello</title></head><body><p>No video here.</p></body></html>",
    )
    .unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let error = fetch(
        &server.url("page.html"),
        out.path(),
        "v3",
        &options(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Unsupported { .. }), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn connection_refused_is_a_retryable_network_error() {
    // A port that was just free: nothing listens on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/video.mp4");
    let error = fetch(&url, out.path(), "v4", &options(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Network { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("Connection refused"), "{error}");
}

#[tokio::test]
async fn silent_server_hits_the_socket_timeout() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        socket_timeout: Duration::from_secs(1),
        ..options()
    };
    let error = fetch(
        &server.url("hang/video.mp4"),
        out.path(),
        "v5",
        &opts,
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Network { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("timed out"), "{error}");
}

#[tokio::test]
async fn slow_download_hits_the_overall_timeout_and_is_cleaned_up() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    // 50 MB at 40 KB/s never finishes within the limit; normally the download is under way
    // (a partial file exists) when the limit strikes.
    let url = server.url("slow/timeout-test.mp4");
    let limit = Duration::from_secs(8);
    let opts = FetchOptions {
        timeout: limit,
        ..options()
    };
    let error = fetch(&url, out.path(), "v6", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Timeout { timeout, .. } if timeout == limit),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(
        wait_until_gone(&url).await,
        "yt-dlp still running after the timeout"
    );
    assert!(
        files_named(out.path(), "v6").is_empty(),
        "partial download left behind"
    );
}

#[tokio::test]
async fn dropping_the_future_kills_yt_dlp() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    // A server that never answers: yt-dlp waits silently (so it is not stopped by a broken
    // pipe when our side of its output closes) and only a kill ends it.
    let url = server.url("hang/cancel-test.mp4");
    let opts = options();
    let download = fetch(&url, out.path(), "v7", &opts, |_| {});
    let waiting = async {
        while server.requests().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        result = download => panic!("the fetch of a silent server ended: {result:?}"),
        () = waiting => {}
    }
    // The fetch future has been dropped here.
    assert!(
        wait_until_gone(&url).await,
        "yt-dlp survived the cancelled fetch"
    );
    assert!(
        files_named(out.path(), "v7").is_empty(),
        "files left behind"
    );
}

#[tokio::test]
async fn missing_yt_dlp_names_the_setup_script() {
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        ytdlp: PathBuf::from("/nonexistent/bin/yt-dlp"),
        ..FetchOptions::default()
    };
    let error = fetch(
        "http://127.0.0.1:9/video.mp4",
        out.path(),
        "v8",
        &opts,
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, FetchError::YtDlpMissing { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("scripts/python-tools.sh"),
        "{error}"
    );
}

#[tokio::test]
async fn rejects_bad_arguments_before_running_anything() {
    let out = tempfile::tempdir().unwrap();
    let error = fetch("video.mp4", out.path(), "v9", &options(), |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::NotAUrl { .. }), "{error:?}");
    let error = fetch(
        "http://127.0.0.1:9/a.mp4",
        out.path(),
        "%(title)s",
        &options(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::BadFileStem { .. }), "{error:?}");
}

/// An HLS playlist of `seconds`, one segment; without `#EXT-X-ENDLIST` it is a live stream.
fn playlist(seconds: u64, ended: bool) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{seconds}\n#EXT-X-MEDIA-SEQUENCE:0\n\
         #EXTINF:{seconds}.0,\nsegment0.ts\n{}",
        if ended { "#EXT-X-ENDLIST\n" } else { "" }
    )
}

#[tokio::test]
async fn a_video_longer_than_the_limit_is_refused_before_downloading() {
    let served = tempfile::tempdir().unwrap();
    // Ten hours, by the playlist's own account.
    std::fs::write(served.path().join("long.m3u8"), playlist(36_000, true)).unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let error = fetch(
        &server.url("long.m3u8"),
        out.path(),
        "l1",
        &options(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, FetchError::TooLong { limit, .. } if limit == Duration::from_secs(240 * 60)),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("240 minutes"), "{error}");
    assert!(
        !server.requests().iter().any(|r| r.contains("segment0")),
        "media was requested: {:?}",
        server.requests()
    );
    assert!(
        files_named(out.path(), "l1").is_empty(),
        "files left behind"
    );
}

#[tokio::test]
async fn a_live_stream_is_refused_and_retried_later() {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("live.m3u8"), playlist(6, false)).unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let error = fetch(
        &server.url("live.m3u8"),
        out.path(),
        "l2",
        &options(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(error, FetchError::Live { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert!(error.retry_after().is_some());
    assert!(
        files_named(out.path(), "l2").is_empty(),
        "files left behind"
    );
}

#[tokio::test]
async fn a_download_over_the_size_limit_is_refused_and_removed() {
    let media = Media::new();
    let served = tempfile::tempdir().unwrap();
    let video = media.encode("big.mp4", Some("libx264"), &["-c:a", "aac"]);
    std::fs::copy(&video, served.path().join("big.mp4")).unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        max_filesize: Some(1000),
        ..options()
    };
    let error = fetch(&server.url("big.mp4"), out.path(), "l3", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::TooLarge {
                limit_bytes: 1000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        files_named(out.path(), "l3").is_empty(),
        "files left behind"
    );
}

#[tokio::test]
async fn too_little_free_disk_fails_before_downloading() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        min_free_bytes: u64::MAX,
        ..options()
    };
    let error = fetch(&server.url("talk.mp4"), out.path(), "l4", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::LowDisk { .. }), "{error:?}");
    assert!(error.to_string().contains("must stay free"), "{error}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn a_disk_that_fills_up_during_the_download_fails_it_clearly_and_is_emptied() {
    // 20 MB of media onto an 8 MB disk, with no reserve to stop it early: the disk fills.
    let served = tempfile::tempdir().unwrap();
    let mut bytes = Vec::with_capacity(20 << 20);
    let mut x: u32 = 1;
    while bytes.len() < 20 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(served.path().join("big.mp4"), &bytes).unwrap();
    let server = Server::start(served.path());
    let disk = SmallDisk::mount(8);
    let empty = disk.free();
    let opts = FetchOptions {
        min_free_bytes: 0,
        ..options()
    };
    let error = fetch(&server.url("big.mp4"), disk.path(), "full", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::DiskFull { .. }), "{error:?}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(
        message.contains("disk filled up") && message.contains("partial file removed"),
        "{message}"
    );
    assert!(files_named(disk.path(), "full").is_empty());
    assert_eq!(disk.free(), empty, "the disk is as empty as before");
}

#[tokio::test]
async fn a_download_that_eats_into_the_reserve_is_stopped_before_the_disk_fills() {
    // A body of unknown length onto a 32 MB disk of which 16 MB must stay free.
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let disk = SmallDisk::mount(32);
    let reserve = 16 << 20;
    let opts = FetchOptions {
        min_free_bytes: reserve,
        ..options()
    };
    let url = server.url("steady/stream.mp4");
    let error = fetch(&url, disk.path(), "reserve", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::DiskFull { reserve_bytes, .. } if reserve_bytes == reserve),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("16 MB must stay free"),
        "{error}"
    );
    assert!(wait_until_gone(&url).await, "yt-dlp still running");
    assert!(files_named(disk.path(), "reserve").is_empty());
    assert!(disk.free() > reserve, "the reserve is free again");
}

#[tokio::test]
async fn only_youtube_is_fetched_by_default() {
    let media = Media::new();
    let served = tempfile::tempdir().unwrap();
    let video = media.encode("talk.mp4", Some("libx264"), &["-c:a", "aac"]);
    std::fs::copy(&video, served.path().join("talk.mp4")).unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        ytdlp: ytdlp(),
        ..FetchOptions::default()
    };
    let error = fetch(&server.url("talk.mp4"), out.path(), "l5", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Unsupported { .. }), "{error:?}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn yt_dlp_does_not_inherit_secrets() {
    // A yt-dlp stand-in that reports its environment as its error.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("yt-dlp");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"ERROR: env: $(env | tr '\\n' ' ')\" >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = FetchOptions {
        ytdlp: fake,
        ..options()
    };
    // The test process has CARGO_* variables (set by cargo); none may reach yt-dlp.
    let out = tempfile::tempdir().unwrap();
    let error = fetch("http://127.0.0.1:9/x.mp4", out.path(), "l6", &opts, |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("PATH="), "{error}");
    assert!(!error.contains("CARGO"), "the environment leaked: {error}");
}

#[tokio::test]
async fn loopback_is_refused_at_fetch_time_unless_allowed() {
    let media = Media::new();
    let served = tempfile::tempdir().unwrap();
    let video = media.encode("talk.mp4", Some("libx264"), &["-c:a", "aac"]);
    std::fs::copy(&video, served.path().join("talk.mp4")).unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        addresses: vidpress_core::net::AddressPolicy::PUBLIC_ONLY,
        ..options()
    };
    let error = fetch(&server.url("talk.mp4"), out.path(), "g1", &opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(error, FetchError::Forbidden { .. }), "{error:?}");
    assert!(error.to_string().contains("loopback"), "{error}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    assert!(
        files_named(out.path(), "g1").is_empty(),
        "files left behind"
    );
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_refused() {
    let served = tempfile::tempdir().unwrap();
    let server = Server::start(served.path());
    let out = tempfile::tempdir().unwrap();
    // Loopback is allowed here (the origin is on it); the redirect's targets never are.
    for (target, class) in [
        ("169.254.169.254/latest/meta-data/", "metadata"),
        ("0.0.0.0:9/video.mp4", "0.0.0.0"),
    ] {
        let url = server.url(&format!("redirect/{target}"));
        let error = fetch(&url, out.path(), "g2", &options(), |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(error, FetchError::Forbidden { .. }),
            "{target}: {error:?}"
        );
        assert!(error.to_string().contains(class), "{target}: {error}");
    }
    assert!(
        server.requests().iter().all(|r| r.contains("/redirect/")),
        "{:?}",
        server.requests()
    );
    assert!(
        files_named(out.path(), "g2").is_empty(),
        "files left behind"
    );
}
