#![forbid(unsafe_code)]
//! Rendering of Picket reports. A report's stored JSON content ([`content`]) goes in; a
//! self-contained HTML document ([`html`]) or a PDF ([`pdf`]) comes out. Nothing here reads a
//! database or the network: the crate is pure, so the monitoring crate builds the content and
//! this one only draws it.
//!
//! Read in this order:
//!
//! 1. [`content`]: the report's summary and sections, as stored and served.
//! 2. [`figure`]: vector drawings written both as SVG and as PDF paths; [`charts`] and [`map`]
//!    draw the daily trend, the severity mix and the threat map (country outlines of Natural
//!    Earth 1:110m, shipped in `data/`).
//! 3. [`html`] and [`pdf`]: the two renderers. The PDF embeds subsets of DejaVu Sans (shipped
//!    in `fonts/` with its licence) so its text is searchable, and lays out a title page,
//!    sections, tables that repeat their header on each page, and page numbers.

pub mod charts;
pub mod content;
pub mod figure;
pub mod html;
pub mod map;
pub mod pdf;

pub use content::{Body, Content, Report, Section};

/// `landscape` → `Landscape report`.
pub fn kind_label(kind: &str) -> String {
    match kind {
        "threat" => "Threat report".into(),
        "incident" => "Incident report".into(),
        "landscape" => "Landscape report".into(),
        other => format!("{} report", content::label_of(other)),
    }
}
