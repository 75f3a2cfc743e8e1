//! konform's one look: the stylesheet of the dashboard, meant for the HTML conformance report too, so a
//! report opened from the dashboard reads like the rest of it. Plain CSS, no external fonts or images.

/// The stylesheet (`assets/konform.css`).
pub const CSS: &str = include_str!("../assets/konform.css");
