//! Vector figures drawn once and written twice: as inline SVG for HTML and as PDF path
//! operators. Coordinates are points with the origin at the top left, y down (SVG's way; the
//! PDF writer flips them).

use std::fmt::Write;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Components in 0..1, for PDF.
    pub fn unit(self) -> [f32; 3] {
        [
            self.0 as f32 / 255.0,
            self.1 as f32 / 255.0,
            self.2 as f32 / 255.0,
        ]
    }
}

pub const INK: Color = Color(0x1f, 0x29, 0x37);
pub const MUTED: Color = Color(0x6b, 0x72, 0x80);
pub const RULE: Color = Color(0xd1, 0xd5, 0xdb);

/// The colour of a severity (an unknown one is negligible's grey).
pub fn severity_color(severity: &str) -> Color {
    match severity {
        "critical" => Color(0xb9, 0x1c, 0x1c),
        "high" => Color(0xea, 0x58, 0x0c),
        "medium" => Color(0xd9, 0x9a, 0x06),
        "low" => Color(0x25, 0x63, 0xeb),
        _ => Color(0x9c, 0xa3, 0xaf),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A polyline or polygon; several rings of one path fill with the even-odd rule.
    Path {
        rings: Vec<Vec<(f32, f32)>>,
        closed: bool,
        fill: Option<Color>,
        stroke: Option<(Color, f32)>,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Color,
    },
    Circle {
        x: f32,
        y: f32,
        r: f32,
        fill: Color,
        stroke: Option<(Color, f32)>,
    },
    /// One line of text; `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        anchor: Anchor,
        bold: bool,
        color: Color,
    },
}

/// A drawing of `width` × `height` points. Shapes outside are clipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
    /// What the figure shows, for screen readers (`<title>`).
    pub description: String,
}

impl Figure {
    pub fn new(width: f32, height: f32, description: impl Into<String>) -> Figure {
        Figure {
            width,
            height,
            shapes: Vec::new(),
            description: description.into(),
        }
    }

    pub fn text(&mut self, x: f32, y: f32, size: f32, text: impl Into<String>, anchor: Anchor) {
        self.shapes.push(Shape::Text {
            x,
            y,
            size,
            text: text.into(),
            anchor,
            bold: false,
            color: INK,
        });
    }

    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), color: Color, width: f32) {
        self.shapes.push(Shape::Path {
            rings: vec![vec![from, to]],
            closed: false,
            fill: None,
            stroke: Some((color, width)),
        });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, fill: Color) {
        self.shapes.push(Shape::Rect { x, y, w, h, fill });
    }

    /// The figure as a standalone `<svg>` element (scales to its container's width).
    pub fn to_svg(&self) -> String {
        let mut s = String::with_capacity(64 * self.shapes.len() + 256);
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" font-family="DejaVu Sans, Helvetica, Arial, sans-serif"><title>{t}</title>"#,
            w = self.width,
            h = self.height,
            t = escape(&self.description),
        );
        for shape in &self.shapes {
            match shape {
                Shape::Path {
                    rings,
                    closed,
                    fill,
                    stroke,
                } => {
                    s.push_str("<path d=\"");
                    for ring in rings {
                        for (i, (x, y)) in ring.iter().enumerate() {
                            let _ =
                                write!(s, "{}{:.1} {:.1}", if i == 0 { 'M' } else { 'L' }, x, y);
                        }
                        if *closed {
                            s.push('Z');
                        }
                    }
                    s.push('"');
                    match fill {
                        Some(c) => {
                            let _ = write!(s, r#" fill="{}" fill-rule="evenodd""#, c.hex());
                        }
                        None => s.push_str(r#" fill="none""#),
                    }
                    if let Some((c, w)) = stroke {
                        let _ = write!(s, r#" stroke="{}" stroke-width="{}""#, c.hex(), w);
                    }
                    s.push_str("/>");
                }
                Shape::Rect { x, y, w, h, fill } => {
                    let _ = write!(
                        s,
                        r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{}"/>"#,
                        fill.hex()
                    );
                }
                Shape::Circle {
                    x,
                    y,
                    r,
                    fill,
                    stroke,
                } => {
                    let _ = write!(
                        s,
                        r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{}""#,
                        fill.hex()
                    );
                    if let Some((c, w)) = stroke {
                        let _ = write!(s, r#" stroke="{}" stroke-width="{}""#, c.hex(), w);
                    }
                    s.push_str("/>");
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
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}" fill="{}"{}>{}</text>"#,
                        color.hex(),
                        if *bold { r#" font-weight="bold""# } else { "" },
                        escape(text)
                    );
                }
            }
        }
        s.push_str("</svg>");
        s
    }
}

/// Text for HTML and XML: `&`, `<`, `>`, `"` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
