//! Page layout: the content flowed onto A4 pages as drawing operations — headings kept with
//! what follows, wrapped text, label and value pairs, tables that break between rows and
//! repeat their header on each page, and figures kept whole.

use crate::content::{cell_text, Fact, Table};
use crate::figure::{severity_color, Anchor, Color, Figure, Shape, INK, MUTED, RULE};

use super::font::{Face, Fonts};

pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;
pub const MARGIN: f32 = 50.0;
pub const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// The first baseline area of a page and the lowest point content may reach.
pub const TOP: f32 = PAGE_H - 56.0;
pub const BOTTOM: f32 = 62.0;

const ZEBRA: Color = Color(0xf6, 0xf7, 0xf9);
const HEAD_BG: Color = Color(0xe5, 0xe7, 0xeb);

/// A drawing operation in PDF coordinates (origin at the bottom left).
#[derive(Debug, Clone)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        face: Face,
        glyphs: Vec<u16>,
        color: Color,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Color,
    },
    Path {
        rings: Vec<Vec<(f32, f32)>>,
        closed: bool,
        fill: Option<Color>,
        stroke: Option<(Color, f32)>,
    },
    Circle {
        x: f32,
        y: f32,
        r: f32,
        fill: Color,
        stroke: Option<(Color, f32)>,
    },
    /// Saves the state and clips to a rectangle, until [`Op::Unclip`].
    Clip {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
    },
    Unclip,
}

/// Content flowing onto pages.
pub struct Layout<'f> {
    pub fonts: &'f mut Fonts,
    pub pages: Vec<Vec<Op>>,
    /// The current position, going down the page.
    pub y: f32,
}

impl<'f> Layout<'f> {
    pub fn new(fonts: &'f mut Fonts) -> Layout<'f> {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("there is always a page")
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `h` points fit above the bottom margin.
    pub fn ensure(&mut self, h: f32) -> bool {
        if self.y - h < BOTTOM {
            self.new_page();
            true
        } else {
            false
        }
    }

    /// One line of text with its left end (or middle, or right end) at `x`.
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        face: Face,
        s: &str,
        color: Color,
        anchor: Anchor,
    ) {
        if s.is_empty() {
            return;
        }
        let w = self.fonts.get(face).width(s, size);
        let x = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - w / 2.0,
            Anchor::End => x - w,
        };
        let glyphs = self.fonts.get_mut(face).glyphs(s);
        self.ops().push(Op::Text {
            x,
            y,
            size,
            face,
            glyphs,
            color,
        });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Color) {
        self.ops().push(Op::Rect { x, y, w, h, fill });
    }

    pub fn hline(&mut self, y: f32, color: Color, width: f32) {
        self.ops().push(Op::Path {
            rings: vec![vec![(MARGIN, y), (MARGIN + CONTENT_W, y)]],
            closed: false,
            fill: None,
            stroke: Some((color, width)),
        });
    }

    /// `text` broken into lines no wider than `width` at `size`: at spaces, at line breaks in
    /// the text, and inside words longer than a line.
    pub fn wrap(&self, text: &str, size: f32, face: Face, width: f32) -> Vec<String> {
        let font = self.fonts.get(face);
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if font.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line is cut where it overflows.
                let mut piece = String::new();
                for c in word.chars() {
                    piece.push(c);
                    if font.width(&piece, size) > width && piece.chars().count() > 1 {
                        piece.pop();
                        lines.push(std::mem::take(&mut piece));
                        piece.push(c);
                    }
                }
                line = piece;
            }
            lines.push(line);
        }
        lines
    }

    /// A section heading, kept on a page with at least `keep` points of what follows.
    pub fn heading(&mut self, title: &str, keep: f32) {
        if self.y < TOP {
            self.y -= 10.0;
        }
        self.ensure(30.0 + keep);
        self.y -= 16.0;
        self.text(MARGIN, self.y, 14.0, Face::Bold, title, INK, Anchor::Start);
        self.y -= 6.0;
        self.hline(self.y, RULE, 0.8);
        self.y -= 14.0;
    }

    pub fn paragraph(&mut self, text: &str, size: f32, color: Color) {
        let lead = size * 1.4;
        for line in self.wrap(text, size, Face::Regular, CONTENT_W) {
            self.ensure(lead);
            self.text(
                MARGIN,
                self.y - size,
                size,
                Face::Regular,
                &line,
                color,
                Anchor::Start,
            );
            self.y -= lead;
        }
        self.y -= size * 0.6;
    }

    /// Label and value pairs in two columns.
    pub fn facts(&mut self, items: &[Fact]) {
        let label_w = 130.0;
        let value_x = MARGIN + label_w + 10.0;
        let value_w = CONTENT_W - label_w - 10.0;
        for f in items {
            let labels = self.wrap(&f.label, 9.0, Face::Regular, label_w);
            let values = self.wrap(
                &crate::content::display_text(&cell_text(Some(&f.value))),
                10.0,
                Face::Regular,
                value_w,
            );
            let n = labels.len().max(values.len());
            for i in 0..n {
                self.ensure(13.5);
                let base = self.y - 10.0;
                if let Some(l) = labels.get(i) {
                    self.text(MARGIN, base, 9.0, Face::Regular, l, MUTED, Anchor::Start);
                }
                if let Some(v) = values.get(i) {
                    self.text(value_x, base, 10.0, Face::Regular, v, INK, Anchor::Start);
                }
                self.y -= 13.5;
            }
            self.y -= 3.0;
        }
    }

    /// A table: the header repeated on every page it spans, rows never split (a row taller
    /// than a page is cut with an ellipsis).
    pub fn table(&mut self, title: &str, t: &Table) {
        if t.rows.is_empty() {
            let empty = t.empty.clone().unwrap_or_else(|| "None.".into());
            self.paragraph(&empty, 9.5, MUTED);
            return;
        }
        let size = 8.5;
        let lead = 10.5;
        let pad = 4.0;
        let weights: Vec<f32> = t.columns.iter().map(|c| c.weight.unwrap_or(1.0)).collect();
        let sum: f32 = weights.iter().sum();
        let widths: Vec<f32> = weights.iter().map(|w| CONTENT_W * w / sum).collect();
        let header: Vec<Vec<String>> = t
            .columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| self.wrap(&c.label, size, Face::Bold, w - 2.0 * pad))
            .collect();
        let header_h = header.iter().map(Vec::len).max().unwrap_or(1) as f32 * lead + 2.0 * pad;
        let max_lines = ((TOP - BOTTOM - header_h - 30.0) / lead).floor().max(1.0) as usize;
        let rows: Vec<Vec<Vec<String>>> = t
            .rows
            .iter()
            .map(|r| {
                t.columns
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| {
                        let mut lines = self.wrap(
                            &crate::content::display_text(&cell_text(r.get(&c.key))),
                            size,
                            Face::Regular,
                            w - 2.0 * pad,
                        );
                        if lines.len() > max_lines {
                            lines.truncate(max_lines);
                            if let Some(last) = lines.last_mut() {
                                last.push('…');
                            }
                        }
                        lines
                    })
                    .collect()
            })
            .collect();
        let first_h = rows
            .first()
            .map(|r| r.iter().map(Vec::len).max().unwrap_or(1) as f32 * lead + 2.0 * pad)
            .unwrap_or(0.0);
        self.ensure(header_h + first_h);
        self.table_header(&header, &widths, header_h, lead, pad);
        for (i, (cells, src)) in rows.iter().zip(&t.rows).enumerate() {
            let h = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * lead + 2.0 * pad;
            if self.y - h < BOTTOM {
                self.new_page();
                self.text(
                    MARGIN,
                    self.y - 9.0,
                    9.0,
                    Face::Regular,
                    &format!("{title} (continued)"),
                    MUTED,
                    Anchor::Start,
                );
                self.y -= 16.0;
                self.table_header(&header, &widths, header_h, lead, pad);
            }
            if i % 2 == 1 {
                self.rect(MARGIN, self.y - h, CONTENT_W, h, ZEBRA);
            }
            let mut x = MARGIN;
            for ((lines, w), col) in cells.iter().zip(&widths).zip(&t.columns) {
                let (face, color) = if col.key == "severity" {
                    let sev = src.get("severity").and_then(|v| v.as_str()).unwrap_or("");
                    (Face::Bold, severity_color(sev))
                } else {
                    (Face::Regular, INK)
                };
                for (k, line) in lines.iter().enumerate() {
                    let base = self.y - pad - size - k as f32 * lead + 1.0;
                    self.text(x + pad, base, size, face, line, color, Anchor::Start);
                }
                x += w;
            }
            self.y -= h;
            self.hline(self.y, RULE, 0.4);
        }
        self.y -= 6.0;
        if let Some(total) = t.total {
            self.paragraph(
                &format!("The first {} of {} rows.", t.rows.len(), total),
                8.0,
                MUTED,
            );
        }
    }

    fn table_header(
        &mut self,
        header: &[Vec<String>],
        widths: &[f32],
        h: f32,
        lead: f32,
        pad: f32,
    ) {
        self.rect(MARGIN, self.y - h, CONTENT_W, h, HEAD_BG);
        let mut x = MARGIN;
        for (lines, w) in header.iter().zip(widths) {
            for (k, line) in lines.iter().enumerate() {
                let base = self.y - pad - 8.5 - k as f32 * lead + 1.0;
                self.text(x + pad, base, 8.5, Face::Bold, line, INK, Anchor::Start);
            }
            x += w;
        }
        self.y -= h;
    }

    /// A figure kept whole on one page, with its caption under it.
    pub fn figure(&mut self, fig: &Figure, caption: &str) {
        let captions = self.wrap(caption, 8.0, Face::Regular, CONTENT_W);
        let caption_h = captions.len() as f32 * 11.0;
        self.ensure(fig.height + caption_h + 8.0);
        let top = self.y;
        let x0 = MARGIN + (CONTENT_W - fig.width).max(0.0) / 2.0;
        let at = |x: f32, y: f32| (x0 + x, top - y);
        self.ops().push(Op::Clip {
            x: x0,
            y: top - fig.height,
            w: fig.width,
            h: fig.height,
        });
        for shape in &fig.shapes {
            match shape {
                Shape::Path {
                    rings,
                    closed,
                    fill,
                    stroke,
                } => {
                    let rings = rings
                        .iter()
                        .map(|r| r.iter().map(|&(x, y)| at(x, y)).collect())
                        .collect();
                    self.ops().push(Op::Path {
                        rings,
                        closed: *closed,
                        fill: *fill,
                        stroke: *stroke,
                    });
                }
                Shape::Rect { x, y, w, h, fill } => {
                    let (px, py) = at(*x, y + h);
                    self.rect(px, py, *w, *h, *fill);
                }
                Shape::Circle {
                    x,
                    y,
                    r,
                    fill,
                    stroke,
                } => {
                    let (px, py) = at(*x, *y);
                    self.ops().push(Op::Circle {
                        x: px,
                        y: py,
                        r: *r,
                        fill: *fill,
                        stroke: *stroke,
                    });
                }
                Shape::Text {
                    x,
                    y,
                    size,
                    text,
                    anchor,
                    bold,
                    color,
                } => {
                    let (px, py) = at(*x, *y);
                    let face = if *bold { Face::Bold } else { Face::Regular };
                    self.text(px, py, *size, face, text, *color, *anchor);
                }
            }
        }
        self.ops().push(Op::Unclip);
        self.y = top - fig.height - 4.0;
        for line in captions {
            self.text(
                MARGIN,
                self.y - 8.0,
                8.0,
                Face::Regular,
                &line,
                MUTED,
                Anchor::Start,
            );
            self.y -= 11.0;
        }
        self.y -= 6.0;
    }
}
