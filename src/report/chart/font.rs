//! Chart text needs a TrueType font: plotters' `ab_glyph` feature measures and rasterises
//! glyphs from a font registered at run time. This finds one in the usual system places
//! or at `$TRTBENCH_FONT` and registers it once per process. It owns nothing else, so the
//! one side effect of rendering a report (reading a font file) stays in one place.

use std::sync::OnceLock;

use plotters::prelude::FontStyle;

use crate::error::{Error, Result};

/// Places a sans-serif TrueType font is looked for, after `$TRTBENCH_FONT`.
pub const FONT_CANDIDATES: [&str; 7] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// Registers a font for chart text once per process; the error says what to install.
pub fn ensure_font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let r = FONT.get_or_init(|| {
        let mut tried = Vec::new();
        let env = std::env::var("TRTBENCH_FONT").ok();
        for path in env.iter().map(String::as_str).chain(FONT_CANDIDATES) {
            tried.push(path.to_owned());
            let Ok(bytes) = std::fs::read(path) else {
                continue;
            };
            // plotters keeps a `&'static` reference to registered fonts; this is read once
            // per process, so leaking it is the intended lifetime.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(path.to_owned());
            }
        }
        Err(format!(
            "no usable TrueType font for chart text (tried {}); install one \
             (Debian: apt-get install fonts-dejavu-core) or set TRTBENCH_FONT to a .ttf file",
            tried.join(", ")
        ))
    });
    r.as_ref().map(|_| ()).map_err(|reason| Error::Config {
        key: "TRTBENCH_FONT".into(),
        reason: reason.clone(),
    })
}
