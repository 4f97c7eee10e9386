//! The PDF form: a title page (what, when, the key figures, the contents), then each section
//! under its heading, every page numbered "Page n of N". Text is real text in embedded DejaVu
//! Sans subsets, so it can be searched and copied; the map and charts are vector paths.
//!
//! [`font`] embeds the fonts, [`layout`] flows the content onto pages, and this module writes
//! the pages, the document outline (one bookmark per section) and the document information.

mod font;
mod layout;

use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::content::{cell_text, display_text, label_of, Body, Report};
use crate::figure::{Anchor, Color, INK, MUTED, RULE};
use crate::{charts, kind_label, map};
use font::{Face, Fonts};
use layout::{Layout, Op, BOTTOM, CONTENT_W, MARGIN, PAGE_H, PAGE_W, TOP};

const BAND: Color = Color(0x1f, 0x29, 0x37);
const ON_BAND: Color = Color(0xff, 0xff, 0xff);
const ON_BAND_MUTED: Color = Color(0xd1, 0xd5, 0xdb);

/// The report as a PDF document.
pub fn render(report: &Report) -> Vec<u8> {
    let mut fonts = Fonts::new();
    // The sections first, so the title page's contents can name their pages.
    let mut body = Layout::new(&mut fonts);
    let mut starts = Vec::with_capacity(report.content.sections.len());
    for s in &report.content.sections {
        let keep = match &s.body {
            Body::Map(_) => 200.0,
            Body::Trend { .. } => 220.0,
            Body::SeverityMix { .. } => 130.0,
            _ => 40.0,
        };
        body.heading(&s.title, keep);
        // The page the heading landed on (the title page comes before them all).
        starts.push(body.pages.len() + 1);
        match &s.body {
            Body::Text { paragraphs } => {
                for p in paragraphs {
                    body.paragraph(p, 10.0, INK);
                }
            }
            Body::Facts { items } => body.facts(items),
            Body::Table(t) => body.table(&s.title, t),
            Body::Map(m) => {
                let fig = map::map(m);
                let caption = fig.description.clone();
                body.figure(&fig, &caption);
            }
            Body::Trend { days } => {
                let fig = charts::trend(days);
                let caption = fig.description.clone();
                body.figure(&fig, &caption);
            }
            Body::SeverityMix { counts } => {
                let fig = charts::severity_mix(counts);
                let caption = fig.description.clone();
                body.figure(&fig, &caption);
            }
        }
    }
    let mut pages = std::mem::take(&mut body.pages);
    drop(body);
    let mut title = Layout::new(&mut fonts);
    title_page(&mut title, report, &starts);
    let mut all = std::mem::take(&mut title.pages);
    all.truncate(1);
    drop(title);
    all.append(&mut pages);
    // Footers, now that the page count is known.
    let n = all.len();
    let footer_title = crate::content::label_of(&kind_label(&report.kind));
    for (i, page) in all.iter_mut().enumerate() {
        let mut l = Layout::new(&mut fonts);
        l.hline(BOTTOM - 18.0, RULE, 0.5);
        l.text(
            MARGIN,
            BOTTOM - 32.0,
            8.0,
            Face::Regular,
            &clip_to(&format!("{footer_title} · {}", report.title), 90),
            MUTED,
            Anchor::Start,
        );
        l.text(
            MARGIN + CONTENT_W,
            BOTTOM - 32.0,
            8.0,
            Face::Regular,
            &format!("Page {} of {n}", i + 1),
            MUTED,
            Anchor::End,
        );
        page.append(&mut l.pages.remove(0));
    }
    write(report, &mut fonts, &all, &starts)
}

fn clip_to(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn title_page(l: &mut Layout, report: &Report, starts: &[usize]) {
    let band_h = 210.0;
    l.rect(0.0, PAGE_H - band_h, PAGE_W, band_h, BAND);
    let mut y = PAGE_H - 70.0;
    l.text(
        MARGIN,
        y,
        11.0,
        Face::Bold,
        &kind_label(&report.kind).to_uppercase(),
        ON_BAND_MUTED,
        Anchor::Start,
    );
    y -= 34.0;
    let lines = l.wrap(&report.title, 24.0, Face::Bold, CONTENT_W);
    for line in lines.iter().take(4) {
        l.text(MARGIN, y, 24.0, Face::Bold, line, ON_BAND, Anchor::Start);
        y -= 30.0;
    }
    l.y = PAGE_H - band_h - 30.0;
    for line in [
        format!("Generated {}", display_text(&report.created_at)),
        format!("Report {}", report.id),
    ] {
        l.text(
            MARGIN,
            l.y,
            10.0,
            Face::Regular,
            &line,
            MUTED,
            Anchor::Start,
        );
        l.y -= 15.0;
    }
    l.y -= 12.0;
    l.text(
        MARGIN,
        l.y,
        13.0,
        Face::Bold,
        "Key figures",
        INK,
        Anchor::Start,
    );
    l.y -= 10.0;
    let per_row = 3;
    let gap = 10.0;
    let box_w = (CONTENT_W - gap * (per_row as f32 - 1.0)) / per_row as f32;
    let box_h = 44.0;
    let items = crate::content::figures(&report.content.summary);
    for (i, (key, value)) in items.iter().enumerate() {
        let col = i % per_row;
        if col == 0 && i > 0 {
            l.y -= box_h + gap;
        }
        let x = MARGIN + col as f32 * (box_w + gap);
        let top = l.y;
        l.rect(x, top - box_h, box_w, box_h, Color(0xf3, 0xf4, 0xf6));
        l.text(
            x + 8.0,
            top - 14.0,
            8.5,
            Face::Regular,
            &label_of(key),
            MUTED,
            Anchor::Start,
        );
        let v = clip_to(&display_text(&cell_text(Some(value))), 40);
        // As large as fits the box, from 13 down to 8 points.
        let fit = box_w - 16.0;
        let w13 = l.fonts.get(Face::Bold).width(&v, 13.0);
        let size = if w13 <= fit {
            13.0
        } else {
            (13.0 * fit / w13).max(8.0)
        };
        l.text(
            x + 8.0,
            top - 33.0,
            size,
            Face::Bold,
            &v,
            INK,
            Anchor::Start,
        );
    }
    l.y -= box_h + 28.0;
    if !starts.is_empty() && l.y > BOTTOM + 40.0 {
        l.text(
            MARGIN,
            l.y,
            13.0,
            Face::Bold,
            "Contents",
            INK,
            Anchor::Start,
        );
        l.y -= 8.0;
        for (s, page) in report.content.sections.iter().zip(starts) {
            if l.y - 16.0 < BOTTOM {
                break;
            }
            l.y -= 16.0;
            l.text(
                MARGIN,
                l.y,
                10.0,
                Face::Regular,
                &s.title,
                INK,
                Anchor::Start,
            );
            l.text(
                MARGIN + CONTENT_W,
                l.y,
                10.0,
                Face::Regular,
                &page.to_string(),
                INK,
                Anchor::End,
            );
            l.hline(l.y - 4.0, RULE, 0.3);
        }
    }
    l.y = l.y.min(TOP);
}

/// Object numbers: fixed ones first, then two per page (the page and its content).
const CATALOG: Ref = Ref::new(1);
const TREE: Ref = Ref::new(2);
const INFO: Ref = Ref::new(3);
const OUTLINE: Ref = Ref::new(4);
const REGULAR: Ref = Ref::new(10);
const BOLD: Ref = Ref::new(20);
const FIRST_PAGE: i32 = 100;

fn write(report: &Report, fonts: &mut Fonts, pages: &[Vec<Op>], starts: &[usize]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let page_ref = |i: usize| Ref::new(FIRST_PAGE + 2 * i as i32);
    let content_ref = |i: usize| Ref::new(FIRST_PAGE + 2 * i as i32 + 1);
    let first_item = FIRST_PAGE + 2 * pages.len() as i32;
    let mut catalog = pdf.catalog(CATALOG);
    catalog.pages(TREE);
    if !starts.is_empty() {
        catalog.outlines(OUTLINE);
    }
    catalog.finish();
    pdf.pages(TREE)
        .kids((0..pages.len()).map(page_ref))
        .count(pages.len() as i32);
    pdf.document_info(INFO)
        .title(TextStr(&report.title))
        .subject(TextStr(&kind_label(&report.kind)))
        .creator(TextStr("Picket"))
        .producer(TextStr("Picket (picket-report-render)"));
    let regular = font::write(&mut pdf, &fonts.regular, REGULAR, "PKTAAA");
    let bold = font::write(&mut pdf, &fonts.bold, BOLD, "PKTAAB");
    for (i, ops) in pages.iter().enumerate() {
        let mut page = pdf.page(page_ref(i));
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(TREE)
            .contents(content_ref(i));
        page.resources()
            .fonts()
            .pair(Name(b"F1"), REGULAR)
            .pair(Name(b"F2"), BOLD);
        page.finish();
        let stream = content(ops, &regular, &bold);
        let packed = font::compress(&stream);
        pdf.stream(content_ref(i), &packed)
            .filter(Filter::FlateDecode);
    }
    // One bookmark per section, to its first page.
    if !starts.is_empty() {
        let items: Vec<Ref> = (0..starts.len())
            .map(|k| Ref::new(first_item + k as i32))
            .collect();
        pdf.outline(OUTLINE)
            .first(items[0])
            .last(items[items.len() - 1])
            .count(items.len() as i32);
        for (k, (s, page)) in report.content.sections.iter().zip(starts).enumerate() {
            let mut item = pdf.outline_item(items[k]);
            item.title(TextStr(&s.title)).parent(OUTLINE);
            if k > 0 {
                item.prev(items[k - 1]);
            }
            if k + 1 < items.len() {
                item.next(items[k + 1]);
            }
            item.dest().page(page_ref(page - 1)).fit();
            item.finish();
        }
    }
    pdf.finish()
}

/// A page's content stream.
fn content(ops: &[Op], regular: &font::Written, bold: &font::Written) -> Vec<u8> {
    let mut c = Content::new();
    let fill = |c: &mut Content, col: Color| {
        let [r, g, b] = col.unit();
        c.set_fill_rgb(r, g, b);
    };
    let stroke = |c: &mut Content, col: Color, w: f32| {
        let [r, g, b] = col.unit();
        c.set_stroke_rgb(r, g, b);
        c.set_line_width(w);
    };
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                face,
                glyphs,
                color,
            } => {
                let (name, written) = match face {
                    Face::Regular => (Name(b"F1"), regular),
                    Face::Bold => (Name(b"F2"), bold),
                };
                fill(&mut c, *color);
                c.begin_text();
                c.set_font(name, *size);
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
                c.show(Str(&written.encode(glyphs)));
                c.end_text();
            }
            Op::Rect {
                x,
                y,
                w,
                h,
                fill: col,
            } => {
                fill(&mut c, *col);
                c.rect(*x, *y, *w, *h);
                c.fill_nonzero();
            }
            Op::Path {
                rings,
                closed,
                fill: f,
                stroke: s,
            } => {
                for ring in rings {
                    for (k, &(x, y)) in ring.iter().enumerate() {
                        if k == 0 {
                            c.move_to(x, y);
                        } else {
                            c.line_to(x, y);
                        }
                    }
                    if *closed {
                        c.close_path();
                    }
                }
                if let Some(col) = f {
                    fill(&mut c, *col);
                }
                if let Some((col, w)) = s {
                    stroke(&mut c, *col, *w);
                }
                match (f, s) {
                    (Some(_), Some(_)) => c.fill_even_odd_and_stroke(),
                    (Some(_), None) => c.fill_even_odd(),
                    (None, Some(_)) => c.stroke(),
                    (None, None) => c.end_path(),
                };
            }
            Op::Circle {
                x,
                y,
                r,
                fill: col,
                stroke: s,
            } => {
                // Four Bézier arcs.
                let k = 0.552_284_8 * r;
                let (x, y, r) = (*x, *y, *r);
                c.move_to(x + r, y);
                c.cubic_to(x + r, y + k, x + k, y + r, x, y + r);
                c.cubic_to(x - k, y + r, x - r, y + k, x - r, y);
                c.cubic_to(x - r, y - k, x - k, y - r, x, y - r);
                c.cubic_to(x + k, y - r, x + r, y - k, x + r, y);
                c.close_path();
                fill(&mut c, *col);
                match s {
                    Some((sc, w)) => {
                        stroke(&mut c, *sc, *w);
                        c.fill_nonzero_and_stroke();
                    }
                    None => {
                        c.fill_nonzero();
                    }
                }
            }
            Op::Clip { x, y, w, h } => {
                c.save_state();
                c.rect(*x, *y, *w, *h);
                c.clip_nonzero();
                c.end_path();
            }
            Op::Unclip => {
                c.restore_state();
            }
        }
    }
    c.finish().into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{Column, Content, Section, Table};

    fn report(rows: usize) -> Report {
        let table = Table {
            columns: vec![
                Column {
                    key: "title".into(),
                    label: "Threat".into(),
                    weight: Some(2.0),
                },
                Column {
                    key: "severity".into(),
                    label: "Severity".into(),
                    weight: None,
                },
            ],
            rows: (0..rows)
                .map(|i| {
                    let mut m = serde_json::Map::new();
                    m.insert(
                        "title".into(),
                        format!("Threat number {i} near Łódź").into(),
                    );
                    m.insert("severity".into(), "high".into());
                    m
                })
                .collect(),
            empty: None,
            total: None,
        };
        Report {
            id: "r1".into(),
            kind: "landscape".into(),
            title: "Weekly landscape".into(),
            created_at: "2026-04-18T09:00:00Z".into(),
            content: Content {
                summary: [("threat_count".to_string(), serde_json::json!(rows))]
                    .into_iter()
                    .collect(),
                sections: vec![Section {
                    title: "Top threats".into(),
                    body: Body::Table(table),
                }],
            },
        }
    }

    #[test]
    fn a_long_table_spans_pages_with_its_header_on_each() {
        let pdf = render(&report(150));
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        let pages = text.matches("/Type /Page\n").count()
            + text.matches("/Type /Page\r").count()
            + text.matches("/Type /Page ").count()
            + text.matches("/Type /Page/").count();
        assert!(
            pages >= 4 || text.matches("/Type /Page").count() >= 5,
            "{pages}"
        );
    }
}
