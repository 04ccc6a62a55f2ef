//! What each header style means for a picture: the colours of a title card and band.

use crate::color::Rgb;

/// The style a user picked ([`vidpress_core::HeaderStyle`]).
pub use vidpress_core::HeaderStyle as Style;

/// A card's two background colours (dark enough for white type, contrast ≥ 7) and its accent
/// colour; the first also tints the title band.
pub fn palette(style: Style) -> [Rgb; 3] {
    match style {
        Style::Photo => [
            image::Rgb([24, 38, 66]),
            image::Rgb([38, 70, 110]),
            image::Rgb([250, 190, 70]),
        ],
        Style::Illustration => [
            image::Rgb([70, 24, 60]),
            image::Rgb([120, 40, 70]),
            image::Rgb([255, 200, 120]),
        ],
        Style::Minimal => [
            image::Rgb([18, 18, 20]),
            image::Rgb([44, 46, 52]),
            image::Rgb([120, 200, 180]),
        ],
    }
}
