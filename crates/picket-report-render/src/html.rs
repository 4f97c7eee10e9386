//! The HTML form: one self-contained document (inline CSS, figures as inline SVG, no script,
//! no URL fetched) that reads on a phone and prints cleanly.

use std::fmt::Write;

use crate::content::{cell_text, label_of, Body, Report, Section, Table};
use crate::figure::escape;
use crate::{charts, kind_label, map};

const STYLE: &str = r#"
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 "DejaVu Sans",-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;background:#f9fafb}
main{max-width:60rem;margin:0 auto;padding:1rem;background:#fff}
header.title{border-bottom:3px solid #1f2937;margin-bottom:1rem;padding-bottom:.5rem}
.kind{text-transform:uppercase;letter-spacing:.08em;font-size:.8rem;color:#6b7280;margin:0}
h1{font-size:1.6rem;line-height:1.25;margin:.25rem 0}
h2{font-size:1.2rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #d1d5db;padding-bottom:.25rem}
.meta{color:#6b7280;font-size:.85rem;margin:.25rem 0;overflow-wrap:anywhere}
dl.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.5rem;margin:0}
dl.figures div{border:1px solid #e5e7eb;border-radius:6px;padding:.5rem .75rem}
dl.figures dt{font-size:.8rem;color:#6b7280}
dl.figures dd{margin:0;font-size:1.2rem;font-weight:bold;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:minmax(7rem,12rem) 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{color:#6b7280}
dl.facts dd{margin:0;overflow-wrap:anywhere;white-space:pre-line}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb}
th{background:#f3f4f6;white-space:nowrap}
td{overflow-wrap:anywhere;min-width:5rem}
.sev{display:inline-block;padding:0 .4rem;border-radius:4px;color:#fff;font-size:.8rem}
.sev-critical{background:#b91c1c}.sev-high{background:#ea580c}.sev-medium{background:#d99a06}.sev-low{background:#2563eb}.sev-negligible{background:#9ca3af}
figure{margin:0}
figure svg{width:100%;height:auto;display:block}
figcaption,.note{color:#6b7280;font-size:.8rem;margin-top:.25rem}
footer{margin-top:2rem;color:#6b7280;font-size:.8rem;border-top:1px solid #e5e7eb;padding-top:.5rem}
@media (max-width:40rem){main{padding:.75rem}h1{font-size:1.35rem}dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:.5rem}}
@media print{body{background:#fff}main{max-width:none;padding:0}section{break-inside:auto}h2{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}}
"#;

/// The report as one HTML document.
pub fn render(report: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body><main>"#,
        title = escape(&report.title),
    );
    let _ = write!(
        h,
        r#"<header class="title"><p class="kind">{kind}</p><h1>{title}</h1><p class="meta">Generated {created} · Report {id}</p></header>"#,
        kind = escape(&kind_label(&report.kind)),
        title = escape(&report.title),
        created = escape(&report.created_at),
        id = escape(&report.id),
    );
    h.push_str(r#"<section id="summary"><h2>Summary</h2><dl class="figures">"#);
    for (key, value) in crate::content::figures(&report.content.summary) {
        let _ = write!(
            h,
            "<div><dt>{}</dt><dd>{}</dd></div>",
            escape(&label_of(key)),
            escape(&crate::content::display_text(&cell_text(Some(value))))
        );
    }
    h.push_str("</dl></section>");
    for (i, section) in report.content.sections.iter().enumerate() {
        section_html(&mut h, i, section);
    }
    let _ = write!(
        h,
        "<footer>Picket {kind} report {id}. Times are UTC. Map outlines: Natural Earth (public domain).</footer></main></body></html>",
        kind = escape(&report.kind),
        id = escape(&report.id),
    );
    h
}

fn section_html(h: &mut String, i: usize, s: &Section) {
    let kind = match &s.body {
        Body::Text { .. } => "text",
        Body::Facts { .. } => "facts",
        Body::Table(_) => "table",
        Body::Map(_) => "map",
        Body::Trend { .. } => "trend",
        Body::SeverityMix { .. } => "severity_mix",
    };
    let _ = write!(
        h,
        r#"<section id="section-{n}" data-kind="{kind}"><h2>{title}</h2>"#,
        n = i + 1,
        title = escape(&s.title)
    );
    match &s.body {
        Body::Text { paragraphs } => {
            for p in paragraphs {
                let _ = write!(h, "<p>{}</p>", escape(p));
            }
        }
        Body::Facts { items } => {
            h.push_str(r#"<dl class="facts">"#);
            for f in items {
                let _ = write!(
                    h,
                    "<dt>{}</dt><dd>{}</dd>",
                    escape(&f.label),
                    value_html(Some(&f.label), Some(&f.value))
                );
            }
            h.push_str("</dl>");
        }
        Body::Table(t) => table_html(h, t),
        Body::Map(m) => {
            let fig = map::map(m);
            let _ = write!(
                h,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                fig.to_svg(),
                escape(&fig.description)
            );
        }
        Body::Trend { days } => {
            let fig = charts::trend(days);
            let _ = write!(
                h,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                fig.to_svg(),
                escape(&fig.description)
            );
        }
        Body::SeverityMix { counts } => {
            let fig = charts::severity_mix(counts);
            let _ = write!(
                h,
                "<figure>{}<figcaption>{}</figcaption></figure>",
                fig.to_svg(),
                escape(&fig.description)
            );
        }
    }
    h.push_str("</section>");
}

/// A value, with severities as coloured badges.
fn value_html(key: Option<&str>, v: Option<&serde_json::Value>) -> String {
    let text = crate::content::display_text(&cell_text(v));
    let is_severity = key.is_some_and(|k| k.eq_ignore_ascii_case("severity"));
    if is_severity && crate::content::SEVERITIES.contains(&text.as_str()) {
        format!(r#"<span class="sev sev-{t}">{t}</span>"#, t = escape(&text))
    } else {
        escape(&text)
    }
}

fn table_html(h: &mut String, t: &Table) {
    if t.rows.is_empty() {
        let _ = write!(
            h,
            r#"<p class="note">{}</p>"#,
            escape(t.empty.as_deref().unwrap_or("None."))
        );
        return;
    }
    h.push_str(r#"<div class="scroll"><table><thead><tr>"#);
    for c in &t.columns {
        let _ = write!(h, "<th>{}</th>", escape(&c.label));
    }
    h.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        h.push_str("<tr>");
        for c in &t.columns {
            let _ = write!(h, "<td>{}</td>", value_html(Some(&c.key), row.get(&c.key)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div>");
    if let Some(total) = t.total {
        let _ = write!(
            h,
            r#"<p class="note">The first {} of {} rows.</p>"#,
            t.rows.len(),
            total
        );
    }
}
