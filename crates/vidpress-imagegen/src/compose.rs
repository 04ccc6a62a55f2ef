//! Laying out header pictures: cropping a picture to fill a size, a darkened band at the foot
//! that keeps the title readable on any picture (contrast of text to band ≥ 4.5 at every band
//! pixel), and the typographic card used when there is no picture at all.

use image::{RgbImage, imageops};
use vidpress_media::RgbFrame;

use crate::color::{self, Rgb, contrast_ratio, luminance};
use crate::style::{self, Style};
use crate::text::{self, Align, Fit, Layout, Rect};

/// The title's colour on a band or a card.
pub const TEXT_COLOR: Rgb = image::Rgb([255, 255, 255]);
/// The brightest a band pixel may be (relative luminance): white text on it has a contrast
/// of at least 1.05 / 0.20 = 5.25.
const BAND_MAX_LUMINANCE: f32 = 0.15;
/// How much of the light a band lets through before the cap above applies.
const BAND_TRANSMISSION: f32 = 0.35;

/// A picture with the title set on it, and where things went (for checks and tests).
#[derive(Debug, Clone)]
pub struct Titled {
    pub image: RgbImage,
    /// The band behind the title.
    pub band: Rect,
    /// The pixels the title touched, `None` when the title was empty.
    pub text: Option<Rect>,
    pub layout: Layout,
}

/// A decoded frame as an image.
pub fn frame_image(frame: RgbFrame) -> Option<RgbImage> {
    RgbImage::from_raw(frame.width, frame.height, frame.data)
}

/// `source` cropped about its centre to the shape of `width`×`height` and scaled to it.
pub fn cover(source: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (sw, sh) = source.dimensions();
    let target = f64::from(width) / f64::from(height);
    let (cw, ch) = if f64::from(sw) / f64::from(sh) > target {
        (((f64::from(sh) * target).round() as u32).clamp(1, sw), sh)
    } else {
        (sw, ((f64::from(sw) / target).round() as u32).clamp(1, sh))
    };
    let (x, y) = ((sw - cw) / 2, (sh - ch) / 2);
    let cropped = imageops::crop_imm(source, x, y, cw, ch).to_image();
    imageops::resize(&cropped, width, height, imageops::FilterType::CatmullRom)
}

/// Darkens `rect` of `image`, tinted towards `tint`, so that every pixel in it has a relative
/// luminance of at most [`BAND_MAX_LUMINANCE`]; the picture stays visible through the band.
pub fn darken_band(image: &mut RgbImage, rect: Rect, tint: Rgb) {
    let tint = tint.0.map(color::linear);
    for y in rect.y..(rect.y + rect.height).min(image.height()) {
        for x in rect.x..(rect.x + rect.width).min(image.width()) {
            let pixel = image.get_pixel_mut(x, y);
            let own = pixel.0.map(color::linear);
            let mut lin: [f32; 3] = std::array::from_fn(|k| {
                own[k] * BAND_TRANSMISSION + tint[k] * (1.0 - BAND_TRANSMISSION) * 0.8
            });
            let lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
            if lum > BAND_MAX_LUMINANCE {
                let k = BAND_MAX_LUMINANCE / lum;
                lin = lin.map(|c| c * k);
            }
            *pixel = image::Rgb(lin.map(color::encode));
            // Rounding to 8 bits can lift a pixel a hair over the cap; step it back down.
            while luminance(*pixel) > BAND_MAX_LUMINANCE + 0.002 {
                pixel.0 = pixel.0.map(|c| c.saturating_sub(1));
            }
        }
    }
}

/// Sets `title` over a darkened band, tinted in the style's colour, across the foot of `image`.
pub fn title_band(mut image: RgbImage, title: &str, style: Style) -> Titled {
    let (w, h) = image.dimensions();
    let short = w.min(h) as f32;
    let margin = (w as f32 * 0.05).round();
    let layout = text::fit(
        title,
        &Fit {
            max_width: w as f32 - 2.0 * margin,
            max_lines: 3,
            max_size: (short * 0.085).max(12.0),
            min_size: (short * 0.042).max(10.0),
        },
    );
    let (_, descent) = text::metrics(layout.size);
    let padding = (layout.size * 0.6).round();
    let block = layout.height() + descent;
    let band_height = ((block + 2.0 * padding).ceil() as u32).min(h);
    let band = Rect {
        x: 0,
        y: h - band_height,
        width: w,
        height: band_height,
    };
    fade_above(&mut image, band.y, (padding * 2.0) as u32);
    darken_band(&mut image, band, style::palette(style)[0]);
    let text = text::draw(
        &mut image,
        &layout,
        margin,
        band.y as f32 + padding,
        Align::Left,
        TEXT_COLOR,
    );
    Titled {
        image,
        band,
        text,
        layout,
    }
}

/// A soft shadow over the `height` rows above `bottom`, so the band does not start with a hard
/// edge on a bright picture.
fn fade_above(image: &mut RgbImage, bottom: u32, height: u32) {
    let top = bottom.saturating_sub(height);
    for y in top..bottom {
        let t = (y - top) as f32 / height.max(1) as f32;
        let keep = 1.0 - t * (1.0 - BAND_TRANSMISSION.sqrt());
        for x in 0..image.width() {
            let pixel = image.get_pixel_mut(x, y);
            pixel.0 = pixel.0.map(|c| (f32::from(c) * keep).round() as u8);
        }
    }
}

/// A typographic card: the title large and centred on the style's colours.
pub fn card(title: &str, style: Style, width: u32, height: u32) -> Titled {
    let [from, to, accent] = style::palette(style);
    let mut image = RgbImage::new(width, height);
    let span = (width + height) as f32;
    for (x, y, pixel) in image.enumerate_pixels_mut() {
        let t = (x + y) as f32 / span;
        let lin: [f32; 3] = std::array::from_fn(|k| {
            color::linear(from.0[k]) * (1.0 - t) + color::linear(to.0[k]) * t
        });
        *pixel = image::Rgb(lin.map(color::encode));
    }
    let short = width.min(height) as f32;
    let margin = (width as f32 * 0.08).round();
    let layout = text::fit(
        title,
        &Fit {
            max_width: width as f32 - 2.0 * margin,
            max_lines: 4,
            max_size: short * 0.12,
            min_size: short * 0.05,
        },
    );
    let (_, descent) = text::metrics(layout.size);
    let block = layout.height() + descent;
    let top = ((height as f32 - block) / 2.0).max(0.0);
    // A short accent rule above the title.
    let rule_w = (width as f32 * 0.08) as u32;
    let rule_h = (short * 0.012).max(3.0) as u32;
    let rule_y = (top - short * 0.06).max(0.0) as u32;
    let rule_x = (width - rule_w) / 2;
    for y in rule_y..(rule_y + rule_h).min(height) {
        for x in rule_x..rule_x + rule_w {
            image.put_pixel(x, y, accent);
        }
    }
    let text = text::draw(
        &mut image,
        &layout,
        width as f32 / 2.0,
        top,
        Align::Center,
        TEXT_COLOR,
    );
    // The background behind the title: the block and a margin, short of the accent rule.
    let gap = short * 0.03;
    let band_top = (top - gap).max(0.0) as u32;
    let band_bottom = ((top + block + gap).ceil() as u32).min(height);
    Titled {
        image,
        band: Rect {
            x: 0,
            y: band_top,
            width,
            height: band_bottom - band_top,
        },
        text,
        layout,
    }
}

/// The lowest contrast between [`TEXT_COLOR`] and any pixel of `rect` outside `text`
/// (the title's own pixels are text, not background).
pub fn worst_contrast(image: &RgbImage, rect: Rect, text: Option<Rect>) -> f32 {
    let mut worst = f32::INFINITY;
    for y in rect.y..(rect.y + rect.height).min(image.height()) {
        for x in rect.x..(rect.x + rect.width).min(image.width()) {
            if text.is_some_and(|t| t.contains(x, y)) {
                continue;
            }
            worst = worst.min(contrast_ratio(*image.get_pixel(x, y), TEXT_COLOR));
        }
    }
    worst
}
