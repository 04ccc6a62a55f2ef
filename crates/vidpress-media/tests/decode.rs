//! Decoding real media generated at test time: containers and codecs, timing, levels, the
//! streaming form, and the errors for files that are not usable media.

mod support;

use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use support::{CLIP_SECONDS, Media, SPEECH_START, ffmpeg_cli, onset, rms};
use vidpress_core::VideoChapter;
use vidpress_media::{
    AudioDecoder, AudioError, DecodeOptions, decode_audio, decode_audio_chunks, decode_audio_with,
    probe_audio,
};

/// Allowed error on durations and onsets.
const TOLERANCE_SECONDS: f64 = 0.05;

fn decode_with_progress(path: &Path) -> (Vec<f32>, Vec<f32>) {
    let mut progress = Vec::new();
    let samples = decode_audio(path, |p| progress.push(p))
        .unwrap_or_else(|e| panic!("decoding {} failed: {e}", path.display()));
    (samples, progress)
}

/// The checks every correctly decoded copy of the master must pass.
fn assert_like_master(media: &Media, path: &Path, reference_onset: f64) {
    let (samples, progress) = decode_with_progress(path);
    let name = path.file_name().unwrap().to_string_lossy();

    let seconds = samples.len() as f64 / 16_000.0;
    assert!(
        (seconds - CLIP_SECONDS).abs() <= TOLERANCE_SECONDS,
        "{name}: {seconds:.3} s of audio, expected {CLIP_SECONDS} s ± {TOLERANCE_SECONDS}"
    );
    assert!(
        samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
        "{name}: sample out of range"
    );

    let speech_end = SPEECH_START + media.speech_seconds;
    let lead = rms(&samples, 0.05, SPEECH_START - 0.1);
    let speech = rms(&samples, SPEECH_START, speech_end);
    let tail = rms(&samples, speech_end + 0.3, CLIP_SECONDS - 0.1);
    assert!(
        speech > 0.02,
        "{name}: speech region RMS {speech} is too quiet"
    );
    assert!(lead < 0.002, "{name}: leading silence RMS {lead}");
    assert!(tail < 0.002, "{name}: trailing silence RMS {tail}");

    let start = onset(&samples, 0.01).expect("speech onset");
    assert!(
        (start - reference_onset).abs() <= TOLERANCE_SECONDS,
        "{name}: speech starts at {start:.3} s, in the WAV master at {reference_onset:.3} s"
    );

    assert_eq!(progress.first(), Some(&0.0), "{name}: progress starts at 0");
    assert_eq!(progress.last(), Some(&1.0), "{name}: progress ends at 1");
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "{name}: progress went backwards: {progress:?}"
    );
    assert!(
        progress.len() >= 10,
        "{name}: only {} progress reports",
        progress.len()
    );
}

#[test]
fn decodes_common_containers_and_codecs_to_16k_mono() {
    let media = Media::new();
    let master = media.path("master.wav");

    // The lossless master fixes where the speech starts; every codec must agree with it.
    let (reference, _) = decode_with_progress(&master);
    let reference_onset = onset(&reference, 0.01).expect("speech in the master");
    assert!(
        (reference_onset - SPEECH_START).abs() < 0.1,
        "the master's speech starts at {reference_onset} s"
    );
    assert_like_master(&media, &master, reference_onset);

    let files = [
        media.encode(
            "h264-aac.mp4",
            Some("libx264"),
            &["-c:a", "aac", "-b:a", "96k"],
        ),
        media.encode("opus.mkv", None, &["-c:a", "libopus", "-b:a", "48k"]),
        media.encode("flac.flac", None, &["-c:a", "flac"]),
        media.encode(
            "vp8-vorbis.webm",
            Some("libvpx"),
            &["-c:a", "libvorbis", "-q:a", "4"],
        ),
        media.encode("mp3.mp3", None, &["-c:a", "libmp3lame", "-b:a", "128k"]),
        media.encode(
            "mono-8k.wav",
            None,
            &["-ac", "1", "-ar", "8000", "-c:a", "pcm_s16le"],
        ),
    ];
    for file in &files {
        assert_like_master(&media, file, reference_onset);
    }
}

#[test]
fn stereo_is_averaged_not_summed() {
    let media = Media::new();
    let master = media.path("master.wav");
    // The same speech in one channel only: the mono mix must be half as loud as with both.
    let left_only = media.encode("left-only.wav", None, &["-af", "pan=stereo|c0=c0|c1=0*c1"]);
    let both = decode_audio(&master, |_| {}).unwrap();
    let left = decode_audio(&left_only, |_| {}).unwrap();
    let end = SPEECH_START + media.speech_seconds;
    let ratio = rms(&left, SPEECH_START, end) / rms(&both, SPEECH_START, end);
    assert!(
        (ratio - 0.5).abs() < 0.02,
        "one channel / both channels RMS ratio {ratio}"
    );
    let peak = both.iter().fold(0.0f32, |p, s| p.max(s.abs()));
    let source_peak = decode_audio(&media.path("speech.wav"), |_| {})
        .unwrap()
        .iter()
        .fold(0.0f32, |p, s| p.max(s.abs()));
    assert!(
        (peak - source_peak).abs() < 0.05,
        "identical channels should mix to the source level: {peak} vs {source_peak}"
    );
}

#[test]
fn streaming_form_yields_the_same_samples() {
    let media = Media::new();
    let file = media.encode("aac.m4a", None, &["-c:a", "aac"]);
    let whole = decode_audio(&file, |_| {}).unwrap();

    let mut streamed = Vec::new();
    let mut chunks = 0;
    let mut last_progress = 0.0;
    let total = decode_audio_chunks(
        &file,
        |p| last_progress = p,
        |chunk| {
            chunks += 1;
            streamed.extend_from_slice(chunk);
        },
    )
    .unwrap();
    assert_eq!(total as usize, whole.len());
    assert_eq!(streamed, whole);
    assert!(chunks > 100, "expected many small chunks, got {chunks}");
    assert_eq!(last_progress, 1.0);

    let mut decoder = AudioDecoder::open(&file).unwrap();
    let info = decoder.info();
    assert_eq!(info.codec, "aac");
    assert_eq!(info.sample_rate, 44_100);
    assert_eq!(info.channels, 2);
    let declared = info
        .duration
        .expect("an m4a declares its duration")
        .as_secs_f64();
    assert!(
        (declared - CLIP_SECONDS).abs() < TOLERANCE_SECONDS,
        "declared {declared}"
    );
    let mut pulled = 0;
    while let Some(chunk) = decoder.next_chunk().unwrap() {
        pulled += chunk.len();
    }
    assert_eq!(pulled, whole.len());
    assert_eq!(decoder.progress(), 1.0);
    assert!(decoder.next_chunk().unwrap().is_none(), "stays finished");

    fn assert_send<T: Send>(_: &T) {}
    assert_send(&decoder);
}

#[test]
fn text_file_renamed_mp4_is_not_media() {
    let media = Media::new();
    let fake = media.text(
        "notes.mp4",
        "This is a shopping list, not a video.\nMilk\nEggs\n",
    );
    let error = decode_audio(&fake, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");
    assert_eq!(error.path(), fake);
    let message = error.to_string();
    assert!(
        message.contains("notes.mp4") && message.contains("not a media file"),
        "{message}"
    );

    let json = media.text("data.json", "{\"a\": 1}");
    let error = decode_audio(&json, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");

    let txt = media.text("readme.txt", "plain text\n");
    let error = decode_audio(&txt, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");

    let empty = media.text("empty.mp4", "");
    let error = decode_audio(&empty, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");
}

#[test]
fn video_without_audio_says_so() {
    let media = Media::new();
    let silent = media.video_without_audio();
    let error = decode_audio(&silent, |_| {}).unwrap_err();
    let AudioError::NoAudioStream { streams, .. } = &error else {
        panic!("expected NoAudioStream, got {error:?}");
    };
    assert_eq!(streams, "1 video stream");
    assert!(
        error
            .to_string()
            .contains("silent-video.mp4: no audio stream"),
        "{error}"
    );
    assert!(matches!(
        probe_audio(&silent),
        Err(AudioError::NoAudioStream { .. })
    ));
}

#[test]
fn truncated_mp4_is_reported_as_truncated() {
    let media = Media::new();
    // The default MP4 layout puts the index (moov) at the end: cut in half, it is lost.
    let mp4 = media.encode("full.mp4", Some("libx264"), &["-c:a", "aac"]);
    let cut = media.truncated(&mp4, "cut.mp4", 0.5);
    let error = decode_audio(&cut, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::Truncated { .. }), "{error:?}");
    assert!(error.to_string().contains("cut.mp4: truncated"), "{error}");
    assert!(error.to_string().contains("moov"), "{error}");

    // With the index first (faststart), the file opens and the data runs out part-way.
    let faststart = media.encode(
        "faststart.mp4",
        Some("libx264"),
        &["-c:a", "aac", "-movflags", "+faststart"],
    );
    let cut = media.truncated(&faststart, "cut-faststart.mp4", 0.5);
    let error = decode_audio(&cut, |_| {}).unwrap_err();
    let AudioError::Truncated { detail, .. } = &error else {
        panic!("expected Truncated, got {error:?}");
    };
    assert!(
        detail.contains("stops at") && detail.contains("8.00 s"),
        "{detail}"
    );
}

#[test]
fn truncated_streams_without_an_index_are_caught_by_their_declared_length() {
    let media = Media::new();
    for (name, args) in [
        ("full.webm", ["-c:a", "libopus"]),
        ("full.wav", ["-c:a", "pcm_s16le"]),
        ("full.flac", ["-c:a", "flac"]),
    ] {
        let full = media.encode(name, None, &args);
        let cut = media.truncated(&full, &format!("cut-{name}"), 0.5);
        let error = decode_audio(&cut, |_| {}).unwrap_err();
        assert!(
            matches!(error, AudioError::Truncated { .. }),
            "{name} cut in half: {error:?}"
        );
    }
}

#[test]
fn missing_files_and_folders_fail_to_open() {
    let media = Media::new();
    let missing = media.path("nope.mp4");
    let error = decode_audio(&missing, |_| {}).unwrap_err();
    let AudioError::Open { source, .. } = &error else {
        panic!("expected Open, got {error:?}");
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(
        error
            .to_string()
            .starts_with(&missing.display().to_string()),
        "{error}"
    );

    let error = decode_audio(media.dir.path(), |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::Open { .. }), "{error:?}");
}

#[test]
fn file_names_are_not_read_as_ffmpeg_protocols() {
    let media = Media::new();
    // A relative name that starts like a protocol ("http:…") must still be read as a file.
    // The folder is created in the working directory so the relative name starts with it.
    let odd = tempfile::Builder::new()
        .prefix("http:")
        .tempdir_in(".")
        .expect("temp dir in the working directory");
    let name = odd.path().file_name().unwrap().to_owned();
    std::fs::copy(media.path("master.wav"), odd.path().join("a.wav")).unwrap();
    let relative = Path::new(&name).join("a.wav");
    assert!(relative.to_str().unwrap().starts_with("http:"));
    let samples = decode_audio(&relative, |_| {}).unwrap();
    assert!((samples.len() as f64 / 16_000.0 - CLIP_SECONDS).abs() <= TOLERANCE_SECONDS);
}

#[test]
fn a_containers_chapters_are_read_and_a_site_list_beside_it_comes_first() {
    let media = Media::new();
    let metadata = media.text(
        "chapters.txt",
        ";FFMETADATA1\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=3000\ntitle=Fixing a dripping tap\n\
         [CHAPTER]\nTIMEBASE=1/10\nSTART=30\nEND=55\ntitle=Oiling a hinge\n\
         [CHAPTER]\nTIMEBASE=1/1000\nSTART=5500\nEND=8000\n",
    );
    let chapter = |start_ms: u64, title: &str| VideoChapter {
        start_ms,
        title: title.into(),
    };
    let expected = vec![
        chapter(0, "Fixing a dripping tap"),
        chapter(3000, "Oiling a hinge"),
        chapter(5500, ""),
    ];
    for (name, codec) in [("chapters.mkv", "flac"), ("chapters.mp4", "aac")] {
        let path = media.encode(
            name,
            None,
            &[
                "-i",
                metadata.to_str().unwrap(),
                "-map",
                "0:a",
                "-map_chapters",
                "1",
                "-c:a",
                codec,
            ],
        );
        assert_eq!(vidpress_media::media_chapters(&path), expected, "{name}");
        assert_eq!(vidpress_media::video_chapters(&path), expected, "{name}");
    }
    let plain = media.encode("plain.mkv", None, &["-c:a", "flac"]);
    assert_eq!(vidpress_media::media_chapters(&plain), vec![]);
    assert_eq!(vidpress_media::video_chapters(&plain), vec![]);
    let text = media.text("notes.mp4", "not media at all\n");
    assert_eq!(vidpress_media::media_chapters(&text), vec![]);
    // The list a site gave when the video was fetched, kept beside the file, comes first.
    let listed = vec![chapter(0, "Intro"), chapter(4000, "The hinge")];
    media.text(
        "chapters.chapters.json",
        &serde_json::to_string(&listed).unwrap(),
    );
    assert_eq!(
        vidpress_media::video_chapters(&media.path("chapters.mkv")),
        listed
    );
}

#[test]
fn a_containers_own_title_is_read_and_a_missing_one_is_none() {
    let media = Media::new();
    let title = "Fixing a dripping tap — in five minutes";
    let tag = format!("title={title}");
    for (name, codec) in [
        ("titled.mkv", ["-c:a", "flac"]),
        ("titled.mp4", ["-c:a", "aac"]),
        ("titled.mp3", ["-c:a", "libmp3lame"]),
    ] {
        let path = media.encode(name, None, &[codec[0], codec[1], "-metadata", &tag]);
        assert_eq!(
            vidpress_media::media_title(&path).as_deref(),
            Some(title),
            "{name}"
        );
    }
    let untitled = media.encode("untitled.mkv", None, &["-c:a", "flac"]);
    assert_eq!(vidpress_media::media_title(&untitled), None);
    let blank = media.encode(
        "blank.mkv",
        None,
        &["-c:a", "flac", "-metadata", "title=  "],
    );
    assert_eq!(vidpress_media::media_title(&blank), None);
    let text = media.text("notes.mp4", "not media at all\n");
    assert_eq!(vidpress_media::media_title(&text), None);
    assert_eq!(
        vidpress_media::media_title(&media.path("missing.mkv")),
        None
    );
}

fn limited(minutes: u64) -> DecodeOptions {
    DecodeOptions {
        max_duration: Some(Duration::from_secs(minutes * 60)),
        ..DecodeOptions::default()
    }
}

#[test]
fn an_hours_long_flac_of_silence_is_refused_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let flac = dir.path().join("five-hours.flac");
    ffmpeg_cli(&[
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=8000:cl=mono",
        "-t",
        "18000",
        "-c:a",
        "flac",
        flac.to_str().unwrap(),
    ]);
    let size = std::fs::metadata(&flac).unwrap().len();
    assert!(size < 8 * 1024 * 1024, "the test file is {size} bytes");
    // Refused by what the file declares, before a single sample is decoded.
    let error = AudioDecoder::open_with(&flac, &limited(240)).unwrap_err();
    assert!(
        matches!(error, AudioError::TooLong { declared: Some(d), .. } if d >= Duration::from_secs(17_900)),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("limit of 240 minutes"), "{message}");
    let error = decode_audio_with(&flac, &limited(240), |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::TooLong { .. }), "{error:?}");
}

#[test]
fn audio_that_declares_no_length_stops_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // A Matroska file written as a live stream carries no duration.
    let mkv = dir.path().join("undeclared.mkv");
    ffmpeg_cli(&[
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=8000:cl=mono",
        "-t",
        "300",
        "-c:a",
        "flac",
        "-live",
        "1",
        mkv.to_str().unwrap(),
    ]);
    let mut decoder = AudioDecoder::open_with(&mkv, &limited(1)).unwrap();
    assert_eq!(decoder.duration(), None, "the file declares a length");
    let error = loop {
        match decoder.next_chunk() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("decoded all {} samples", decoder.samples_decoded()),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(error, AudioError::TooLong { declared: None, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("limit of 1 minutes"), "{error}");
    // Stopped within a chunk of the limit, not at the end of the file.
    let decoded = decoder.samples_decoded();
    assert!(decoded <= 61 * 16_000, "{decoded} samples decoded");
}

#[test]
fn a_stop_flag_ends_decoding() {
    let media = Media::new();
    let file = media.encode("stop.flac", None, &["-c:a", "flac"]);
    let stop = Arc::new(AtomicBool::new(false));
    let options = DecodeOptions {
        stop: Some(stop.clone()),
        ..DecodeOptions::default()
    };
    let mut decoder = AudioDecoder::open_with(&file, &options).unwrap();
    assert!(decoder.next_chunk().unwrap().is_some());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let error = decoder.next_chunk().unwrap_err();
    assert!(matches!(error, AudioError::Stopped { .. }), "{error:?}");
    assert!(decoder.next_chunk().unwrap().is_none());
}

#[test]
fn a_playlist_cannot_make_the_decoder_read_other_files() {
    let media = Media::new();
    // A real media file next to a playlist that points at it by absolute path: decoding the
    // playlist would hand out that file's audio.
    let secret = media.encode("secret.wav", None, &["-c:a", "pcm_s16le"]);
    let playlist = media.text(
        "upload.m3u8",
        &format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:8\n#EXTINF:8.0,\n{}\n#EXT-X-ENDLIST\n",
            secret.display()
        ),
    );
    let error = decode_audio(&playlist, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");
    let concat = media.text(
        "upload.ffconcat",
        &format!("ffconcat version 1.0\nfile '{}'\n", secret.display()),
    );
    let error = decode_audio(&concat, |_| {}).unwrap_err();
    assert!(matches!(error, AudioError::NotMedia { .. }), "{error:?}");
    // The file itself still decodes.
    assert!(!decode_audio(&secret, |_| {}).unwrap().is_empty());
}
