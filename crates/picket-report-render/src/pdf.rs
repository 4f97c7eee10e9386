//! The PDF form.

use crate::content::Report;

/// The report as a PDF document.
pub fn render(_report: &Report) -> Vec<u8> {
    Vec::new()
}
