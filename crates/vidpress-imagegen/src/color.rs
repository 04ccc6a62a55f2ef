//! Colour arithmetic for readable type: WCAG relative luminance and contrast ratio.

/// An 8-bit sRGB colour.
pub type Rgb = image::Rgb<u8>;

/// An sRGB channel (0–255) in linear light (0–1).
pub fn linear(channel: u8) -> f32 {
    let c = f32::from(channel) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A linear-light value (0–1) as an sRGB channel.
pub fn encode(linear: f32) -> u8 {
    let l = linear.clamp(0.0, 1.0);
    let c = if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    (c * 255.0).round() as u8
}

/// WCAG 2 relative luminance (0 black to 1 white).
pub fn luminance(color: Rgb) -> f32 {
    let [r, g, b] = color.0;
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

/// WCAG 2 contrast ratio between two colours (1 to 21).
pub fn contrast_ratio(a: Rgb, b: Rgb) -> f32 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_of_black_and_white_is_21() {
        let ratio = contrast_ratio(image::Rgb([0, 0, 0]), image::Rgb([255, 255, 255]));
        assert!((ratio - 21.0).abs() < 0.01, "{ratio}");
        assert_eq!(encode(linear(200)), 200);
    }
}
