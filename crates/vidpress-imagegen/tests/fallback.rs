//! The header that needs no model, on real media made with the FFmpeg command line: the
//! keyframe chooser against black, blank and blurred footage, the thumbnail, the card for
//! audio, readable title bands on any picture, and titles that must not overflow.

use std::path::{Path, PathBuf};
use std::process::Command;

use image::RgbImage;
use vidpress_imagegen::color::contrast_ratio;
use vidpress_imagegen::compose::{self, TEXT_COLOR, worst_contrast};
use vidpress_imagegen::text::Rect;
use vidpress_imagegen::{
    FallbackInput, HEADER_SIZE, Origin, SQUARE_SIZE, Style, fallback_header, keyframe, save,
};

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// 3-second segments: black, blurred test card, the one sharp colourful picture (from 6 s to
/// 9 s), a blank grey slate, blurred again. Two-second key frames, as web video has.
fn mixed_video(dir: &Path) -> PathBuf {
    let path = dir.join("mixed.mp4");
    let size = "640x360";
    let seg = |src: &str| {
        let sep = if src.contains('=') { ':' } else { '=' };
        format!("{src}{sep}size={size}:rate=25")
    };
    let (black, card, fractal, slate, bars) = (
        seg("color=c=black"),
        seg("testsrc2"),
        seg("mandelbrot"),
        seg("color=c=0x808080"),
        seg("smptebars"),
    );
    ffmpeg(&[
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        &black,
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        &card,
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        &fractal,
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        &slate,
        "-t",
        "3",
        "-f",
        "lavfi",
        "-i",
        &bars,
        "-filter_complex",
        "[1]gblur=sigma=25[b1];[4]gblur=sigma=25[b2];\
         [0][b1][2][3][b2]concat=n=5:v=1:a=0,format=yuv420p[v]",
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-g",
        "50",
        "-preset",
        "veryfast",
        path.to_str().unwrap(),
    ]);
    path
}

#[test]
fn the_chooser_picks_the_one_sharp_colourful_frame() {
    let dir = tempfile::tempdir().unwrap();
    let video = mixed_video(dir.path());
    let samples = vidpress_media::sample_frames(&video, 24, 160).unwrap();
    assert!(samples.len() >= 15, "{} samples", samples.len());
    let (best, scores) = keyframe::choose(&samples);
    let best = &scores[best.expect("a frame is chosen")];
    assert!(
        (6000..9000).contains(&best.time_ms),
        "chose {best:?} among {scores:#?}"
    );
    // Every sample outside the sharp segment is refused, and for the right reason.
    for s in &scores {
        match s.time_ms {
            0..3000 => assert_eq!(s.refused, Some("too dark"), "{s:?}"),
            3000..6000 | 12000..15000 => assert_eq!(s.refused, Some("blurred"), "{s:?}"),
            9000..12000 => assert_eq!(s.refused, Some("blank"), "{s:?}"),
            _ => {}
        }
    }

    let images = fallback_header(&FallbackInput {
        title: "Zooming into the Mandelbrot set",
        media: Some(&video),
        thumbnail: None,
        style: Style::Photo,
    });
    match images.origin {
        Origin::Keyframe { time_ms } => assert!((6000..9000).contains(&time_ms), "{time_ms}"),
        other => panic!("expected a keyframe, got {other:?}: {}", images.describe()),
    }
    assert_eq!(images.header.dimensions(), HEADER_SIZE);
    assert_eq!(images.square.dimensions(), (SQUARE_SIZE, SQUARE_SIZE));
    let saved = save(&images, dir.path(), "header").unwrap();
    let header = image::open(&saved.header).unwrap();
    assert_eq!((header.width(), header.height()), HEADER_SIZE);
    let square = image::open(&saved.square).unwrap();
    assert_eq!(
        (square.width(), square.height()),
        (SQUARE_SIZE, SQUARE_SIZE)
    );
    if let Ok(keep) = std::env::var("VIDPRESS_KEEP_IMAGES") {
        std::fs::copy(&saved.header, Path::new(&keep).join("keyframe.jpg")).unwrap();
        std::fs::copy(&saved.square, Path::new(&keep).join("keyframe-square.jpg")).unwrap();
    }
}

#[test]
fn a_thumbnail_comes_first_and_a_placeholder_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let thumbnail = dir.path().join("source.thumb.jpg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=1",
        "-frames:v",
        "1",
        thumbnail.to_str().unwrap(),
    ]);
    let video = mixed_video(dir.path());
    let images = fallback_header(&FallbackInput {
        title: "A title",
        media: Some(&video),
        thumbnail: Some(&thumbnail),
        style: Style::Photo,
    });
    assert_eq!(images.origin, Origin::Thumbnail, "{}", images.describe());
    assert_eq!(images.header.dimensions(), HEADER_SIZE);

    let grey = dir.path().join("grey.thumb.jpg");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=0x7f7f7f:size=480x360",
        "-frames:v",
        "1",
        grey.to_str().unwrap(),
    ]);
    let images = fallback_header(&FallbackInput {
        title: "A title",
        media: Some(&video),
        thumbnail: Some(&grey),
        style: Style::Photo,
    });
    assert!(
        matches!(images.origin, Origin::Keyframe { .. }),
        "{}",
        images.describe()
    );
    assert!(
        images
            .describe()
            .contains("thumbnail not used: it is blank"),
        "{}",
        images.describe()
    );
}

#[test]
fn audio_only_media_gets_a_title_card() {
    let dir = tempfile::tempdir().unwrap();
    let audio = dir.path().join("talk.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=2",
        audio.to_str().unwrap(),
    ]);
    let images = fallback_header(&FallbackInput {
        title: "A podcast episode about soil",
        media: Some(&audio),
        thumbnail: None,
        style: Style::Illustration,
    });
    assert_eq!(images.origin, Origin::Card);
    assert_eq!(images.header.dimensions(), HEADER_SIZE);
    assert_eq!(images.square.dimensions(), (SQUARE_SIZE, SQUARE_SIZE));
    // Not a flat colour: type and gradient.
    let first = *images.header.get_pixel(0, 0);
    assert!(images.header.pixels().filter(|p| **p != first).count() > 10_000);
    if let Ok(keep) = std::env::var("VIDPRESS_KEEP_IMAGES") {
        save(&images, Path::new(&keep), "card").unwrap();
    }

    // A file that is no media at all gets a card too, with the reason noted.
    let junk = dir.path().join("junk.mp4");
    std::fs::write(&junk, b"not a video").unwrap();
    let images = fallback_header(&FallbackInput {
        title: "Junk",
        media: Some(&junk),
        thumbnail: Some(&junk),
        style: Style::Minimal,
    });
    assert_eq!(images.origin, Origin::Card);
    assert!(
        images.describe().contains("thumbnail not used"),
        "{}",
        images.describe()
    );
}

fn white() -> RgbImage {
    RgbImage::from_pixel(1200, 630, image::Rgb([255, 255, 255]))
}

fn black() -> RgbImage {
    RgbImage::from_pixel(1200, 630, image::Rgb([0, 0, 0]))
}

/// Saturated colours and white in small, changing tiles: the hardest background for type.
fn busy() -> RgbImage {
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let palette = [
        [255, 255, 255],
        [255, 230, 0],
        [0, 255, 255],
        [255, 0, 255],
        [0, 200, 0],
        [30, 30, 30],
    ];
    let tiles: Vec<[u8; 3]> = (0..(1200 / 6 * 630 / 6 + 400))
        .map(|_| palette[next() as usize % 6])
        .collect();
    RgbImage::from_fn(1200, 630, |x, y| {
        image::Rgb(tiles[(y / 6 * 200 + x / 6) as usize])
    })
}

#[test]
fn the_title_band_is_readable_on_white_black_and_busy_frames() {
    for (name, frame) in [("white", white()), ("black", black()), ("busy", busy())] {
        // The band alone: every pixel of it, text or not, against the text colour.
        let mut banded = frame.clone();
        let band = Rect {
            x: 0,
            y: 400,
            width: 1200,
            height: 230,
        };
        compose::darken_band(&mut banded, band, image::Rgb([255, 255, 255]));
        let worst = worst_contrast(&banded, band, None);
        assert!(worst >= 4.5, "{name}: band contrast {worst}");

        // The band as the header draws it, with its title.
        let titled = compose::title_band(
            frame,
            "Why the river changed its course in 1872",
            Style::Photo,
        );
        let text = titled.text.expect("the title was drawn");
        assert!(
            titled.band.contains_rect(&text),
            "{name}: text {text:?} outside band {:?}",
            titled.band
        );
        let worst = worst_contrast(&titled.image, titled.band, Some(text));
        assert!(worst >= 4.5, "{name}: contrast {worst}");
        // The text really is the text colour where it is solid.
        let solid = titled
            .image
            .enumerate_pixels()
            .filter(|(x, y, p)| text.contains(*x, *y) && contrast_ratio(**p, TEXT_COLOR) < 1.05)
            .count();
        assert!(solid > 500, "{name}: {solid} solid text pixels");
        if let Ok(keep) = std::env::var("VIDPRESS_KEEP_IMAGES") {
            titled
                .image
                .save(Path::new(&keep).join(format!("band-{name}.png")))
                .unwrap();
        }
    }
}

#[test]
fn german_emoji_and_very_long_titles_stay_inside_the_picture() {
    let long: String = "Ein sehr langer Titel über die Geschichte der Eisenbahn und ihre Brücken "
        .repeat(4)
        .chars()
        .take(200)
        .collect();
    assert_eq!(long.chars().count(), 200);
    let titles = [
        "Größenwahn: Über die Ästhetik der Straßenbahn in Köln",
        "Launch day 🚀🎉 what we learned 👀",
        long.as_str(),
        "Supercalifragilisticexpialidocious_without_any_spaces_at_all_in_a_very_long_word",
    ];
    for title in titles {
        for (w, h) in [HEADER_SIZE, (SQUARE_SIZE, SQUARE_SIZE)] {
            let frame = RgbImage::from_pixel(w, h, image::Rgb([90, 140, 200]));
            let titled = compose::title_band(frame, title, Style::Illustration);
            let text = titled.text.expect("drawn");
            let whole = Rect {
                x: 0,
                y: 0,
                width: w,
                height: h,
            };
            assert!(whole.contains_rect(&titled.band));
            assert!(
                titled.band.contains_rect(&text),
                "{title}: {text:?} outside {:?}",
                titled.band
            );
            // Margins on both sides: nothing touches the edge.
            assert!(text.x > 0 && text.x + text.width < w, "{title}: {text:?}");
            assert!(
                titled.layout.lines.len() <= 3,
                "{title}: {:?}",
                titled.layout.lines
            );
            assert!(
                titled.band.height <= h / 2,
                "{title}: the band covers {} of {h} rows",
                titled.band.height
            );

            let card = compose::card(title, Style::Photo, w, h);
            let text = card.text.expect("drawn");
            assert!(
                text.x > 0 && text.y > 0 && text.x + text.width < w && text.y + text.height < h,
                "{title}: card {text:?}"
            );
            assert!(worst_contrast(&card.image, card.band, Some(text)) >= 4.5);
        }
        let titled = compose::title_band(RgbImage::new(1200, 630), title, Style::Minimal);
        assert!(
            titled.layout.lines.iter().all(|l| !l.contains('🚀')),
            "{:?}",
            titled.layout.lines
        );
    }
    let german = compose::title_band(RgbImage::new(1200, 630), titles[0], Style::Photo);
    assert_eq!(
        german.layout.lines.join(" "),
        titles[0],
        "umlauts and ß are kept"
    );
    let emoji = compose::title_band(RgbImage::new(1200, 630), titles[1], Style::Photo);
    assert_eq!(emoji.layout.lines.join(" "), "Launch day what we learned");
    let long_titled = compose::title_band(RgbImage::new(1200, 630), &long, Style::Photo);
    if long_titled.layout.truncated {
        assert!(long_titled.layout.lines.last().unwrap().ends_with('…'));
    }
    if let Ok(keep) = std::env::var("VIDPRESS_KEEP_IMAGES") {
        for (i, title) in titles.iter().enumerate() {
            compose::title_band(busy(), title, Style::Photo)
                .image
                .save(Path::new(&keep).join(format!("title-{i}.png")))
                .unwrap();
            compose::card(title, Style::Minimal, 1080, 1080)
                .image
                .save(Path::new(&keep).join(format!("card-{i}.png")))
                .unwrap();
        }
    }
}
