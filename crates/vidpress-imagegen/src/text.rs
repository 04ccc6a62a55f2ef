//! Setting a title in type: the shipped font (DejaVu Sans Bold, its licence beside it in
//! `assets/fonts/`), word wrapping within a box, shrinking to fit, an ellipsis when even the
//! smallest size cannot hold it, and drawing with anti-aliasing. Characters the font lacks
//! (emoji among them) are left out rather than drawn as empty boxes.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::RgbImage;

use crate::color::Rgb;

static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

/// The shipped font.
pub fn font() -> FontRef<'static> {
    // The font is part of the binary and was read successfully when it was added.
    FontRef::try_from_slice(FONT_BYTES).expect("the shipped font is a valid TrueType file")
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// Whether `other` lies entirely inside this rectangle.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.width <= self.x + self.width
            && other.y + other.height <= self.y + self.height
    }

    /// Whether the pixel (`x`, `y`) lies inside.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.width && y < self.y + self.height
    }
}

/// How a block of text is to be fitted.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// The widest a line may be, in pixels.
    pub max_width: f32,
    /// The most lines.
    pub max_lines: usize,
    /// The largest and smallest type size tried, in pixels.
    pub max_size: f32,
    pub min_size: f32,
}

/// Text broken into lines at one size.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub lines: Vec<String>,
    /// Type size in pixels.
    pub size: f32,
    /// Distance from one baseline to the next.
    pub line_height: f32,
    /// Whether the text was cut short with an ellipsis.
    pub truncated: bool,
}

impl Layout {
    /// The height of the block of lines.
    pub fn height(&self) -> f32 {
        self.line_height * self.lines.len() as f32
    }
}

/// The text with characters the font cannot draw removed and white space collapsed.
pub fn drawable(text: &str) -> String {
    let font = font();
    let kept: String = text
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|&c| c == ' ' || (!c.is_control() && font.glyph_id(c).0 != 0))
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The width of one line of text at `size`.
pub fn line_width(text: &str, size: f32) -> f32 {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            width += scaled.kern(p, id);
        }
        width += scaled.h_advance(id);
        previous = Some(id);
    }
    width
}

/// Breaks `text` into lines no wider than `fit.max_width`, at the largest size from
/// `fit.max_size` down to `fit.min_size` that needs at most `fit.max_lines` lines; at the
/// smallest size the text that does not fit is cut and ends with an ellipsis.
pub fn fit(text: &str, fit: &Fit) -> Layout {
    let text = drawable(text);
    let mut size = fit.max_size;
    loop {
        let lines = wrap(&text, size, fit.max_width);
        if lines.len() <= fit.max_lines || size <= fit.min_size {
            let truncated = lines.len() > fit.max_lines;
            let lines = if truncated {
                ellipsize(lines, fit.max_lines, size, fit.max_width)
            } else {
                lines
            };
            return Layout {
                lines,
                size,
                line_height: size * 1.22,
                truncated,
            };
        }
        size = (size * 0.9).max(fit.min_size);
    }
}

/// Greedy word wrap; a word wider than a whole line is broken between characters.
fn wrap(text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if line_width(&candidate, size) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if line_width(word, size) <= max_width {
            current = word.to_owned();
        } else {
            for c in word.chars() {
                let mut next = current.clone();
                next.push(c);
                if line_width(&next, size) > max_width && !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                    current.push(c);
                } else {
                    current = next;
                }
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Keeps `max_lines` lines and ends the last with "…", shortening it until it fits.
fn ellipsize(mut lines: Vec<String>, max_lines: usize, size: f32, max_width: f32) -> Vec<String> {
    lines.truncate(max_lines.max(1));
    if let Some(last) = lines.last_mut() {
        let mut words: Vec<&str> = last.split(' ').collect();
        loop {
            let candidate = format!("{}…", words.join(" "));
            if line_width(&candidate, size) <= max_width || words.len() <= 1 {
                let mut candidate = candidate;
                // A single word still too wide loses characters instead.
                while line_width(&candidate, size) > max_width && candidate.chars().count() > 1 {
                    let mut chars: Vec<char> = candidate.chars().collect();
                    chars.remove(chars.len() - 2);
                    candidate = chars.into_iter().collect();
                }
                *last = candidate;
                break;
            }
            words.pop();
        }
    }
    lines
}

/// How lines are placed: left-aligned at `x` or centred on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// Draws the lines of `layout` with the first baseline at `top + ascent`, in `color`; answers
/// the bounding box of the pixels it touched (`None` when nothing was drawn).
pub fn draw(
    image: &mut RgbImage,
    layout: &Layout,
    x: f32,
    top: f32,
    align: Align,
    color: Rgb,
) -> Option<Rect> {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(layout.size));
    let ascent = scaled.ascent();
    let (w, h) = image.dimensions();
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    for (i, line) in layout.lines.iter().enumerate() {
        let baseline = top + ascent + layout.line_height * i as f32;
        let mut caret = match align {
            Align::Left => x,
            Align::Center => x - line_width(line, layout.size) / 2.0,
        };
        let mut previous = None;
        for c in line.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = previous {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(layout.size, point(caret, baseline));
            caret += scaled.h_advance(id);
            previous = Some(id);
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let px = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let (ix, iy) = (px.min.x as i64 + gx as i64, px.min.y as i64 + gy as i64);
                if coverage <= 0.0 || ix < 0 || iy < 0 || ix >= w as i64 || iy >= h as i64 {
                    return;
                }
                let (ix, iy) = (ix as u32, iy as u32);
                let pixel = image.get_pixel_mut(ix, iy);
                let a = coverage.min(1.0);
                for k in 0..3 {
                    pixel.0[k] = (f32::from(pixel.0[k]) * (1.0 - a) + f32::from(color.0[k]) * a)
                        .round() as u8;
                }
                bounds = Some(match bounds {
                    None => (ix, iy, ix, iy),
                    Some((x0, y0, x1, y1)) => (x0.min(ix), y0.min(iy), x1.max(ix), y1.max(iy)),
                });
            });
        }
    }
    bounds.map(|(x0, y0, x1, y1)| Rect {
        x: x0,
        y: y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
    })
}

/// The font's ascent above the baseline at `size`, and its descent below it (positive).
pub fn metrics(size: f32) -> (f32, f32) {
    let font = font();
    let scaled = font.as_scaled(PxScale::from(size));
    (scaled.ascent(), -scaled.descent())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_controls_are_left_out_and_space_collapses() {
        assert_eq!(drawable("Hello 🎉  world\t!"), "Hello world !");
        assert_eq!(drawable("Größe über Äpfel"), "Größe über Äpfel");
    }

    #[test]
    fn long_text_shrinks_then_ends_with_an_ellipsis() {
        let fit_box = Fit {
            max_width: 400.0,
            max_lines: 2,
            max_size: 40.0,
            min_size: 20.0,
        };
        let short = fit("Short", &fit_box);
        assert_eq!(short.size, 40.0);
        assert!(!short.truncated);
        let long = fit(&"word ".repeat(100), &fit_box);
        assert_eq!(long.size, 20.0);
        assert!(long.truncated);
        assert_eq!(long.lines.len(), 2);
        assert!(long.lines[1].ends_with('…'));
        for line in &long.lines {
            assert!(line_width(line, long.size) <= 400.0, "{line}");
        }
        let unbroken = fit(&"x".repeat(300), &fit_box);
        for line in &unbroken.lines {
            assert!(line_width(line, unbroken.size) <= 400.0, "{line}");
        }
    }
}
