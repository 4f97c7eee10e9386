//! The two charts: threats per day stacked by severity, and the severity mix as bars.

use crate::content::{Day, SeverityCounts, SEVERITIES};
use crate::figure::{severity_color, Anchor, Figure, Shape, INK, MUTED, RULE};

/// Width of every chart, in points (a page's text width in the PDF).
pub const WIDTH: f32 = 495.0;

/// A step of 1, 2 or 5 × 10ⁿ giving at most `ticks` steps up to `max`.
fn nice_step(max: u64, ticks: u64) -> u64 {
    let raw = (max as f64 / ticks as f64).max(1.0);
    let pow = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * pow);
    step.max(1.0) as u64
}

/// Threats per day, stacked by severity, with a y axis and dates under the bars.
pub fn trend(days: &[Day]) -> Figure {
    let height = 220.0;
    let total: u64 = days.iter().map(|d| d.counts.total()).sum();
    let mut f = Figure::new(
        WIDTH,
        height,
        format!(
            "Threats per day over {} days, {} in all, stacked by severity",
            days.len(),
            total
        ),
    );
    let (left, right, top, bottom) = (40.0, WIDTH - 8.0, 24.0, height - 36.0);
    legend(&mut f, 8.0);
    let max = days
        .iter()
        .map(|d| d.counts.total())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = nice_step(max, 4);
    let top_value = max.div_ceil(step) * step;
    let y_of = |v: u64| bottom - (bottom - top) * v as f32 / top_value as f32;
    let mut v = 0;
    while v <= top_value {
        let y = y_of(v);
        f.line((left, y), (right, y), RULE, 0.5);
        f.shapes.push(Shape::Text {
            x: left - 4.0,
            y: y + 3.0,
            size: 8.0,
            text: v.to_string(),
            anchor: Anchor::End,
            bold: false,
            color: MUTED,
        });
        v += step;
    }
    if days.is_empty() {
        f.text(
            (left + right) / 2.0,
            (top + bottom) / 2.0,
            10.0,
            "No days in the window",
            Anchor::Middle,
        );
        return f;
    }
    let slot = (right - left) / days.len() as f32;
    let bar = (slot * 0.7).max(0.5);
    // At most about 12 date labels, evenly spread.
    let every = days.len().div_ceil(12).max(1);
    for (i, d) in days.iter().enumerate() {
        let x = left + slot * i as f32 + (slot - bar) / 2.0;
        let mut acc = 0;
        // Most severe at the bottom of each stack.
        for (sev, n) in d.counts.pairs() {
            if n == 0 {
                continue;
            }
            let (y0, y1) = (y_of(acc), y_of(acc + n));
            f.rect(x, y1, bar, y0 - y1, severity_color(sev));
            acc += n;
        }
        if i % every == 0 {
            f.shapes.push(Shape::Text {
                x: x + bar / 2.0,
                y: bottom + 12.0,
                size: 7.5,
                text: d.date.get(5..).unwrap_or(&d.date).to_string(),
                anchor: Anchor::Middle,
                bold: false,
                color: MUTED,
            });
        }
    }
    f.line((left, bottom), (right, bottom), INK, 0.8);
    let first = days.first().map(|d| d.date.as_str()).unwrap_or("");
    let last = days.last().map(|d| d.date.as_str()).unwrap_or("");
    f.shapes.push(Shape::Text {
        x: (left + right) / 2.0,
        y: height - 6.0,
        size: 8.0,
        text: format!("UTC days {first} to {last}"),
        anchor: Anchor::Middle,
        bold: false,
        color: MUTED,
    });
    f
}

/// One horizontal bar per severity with its count and share.
pub fn severity_mix(counts: &SeverityCounts) -> Figure {
    let row = 22.0;
    let height = 10.0 + row * 5.0 + 6.0;
    let total = counts.total();
    let mut f = Figure::new(
        WIDTH,
        height,
        format!(
            "Threats by severity: {}",
            counts
                .pairs()
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let (label_w, bar_left, bar_right) = (70.0, 78.0, WIDTH - 90.0);
    let max = counts.pairs().iter().map(|p| p.1).max().unwrap_or(0).max(1);
    for (i, (sev, n)) in counts.pairs().into_iter().enumerate() {
        let y = 10.0 + row * i as f32;
        f.shapes.push(Shape::Text {
            x: label_w,
            y: y + 12.0,
            size: 9.0,
            text: capitalised(sev),
            anchor: Anchor::End,
            bold: false,
            color: INK,
        });
        f.rect(
            bar_left,
            y + 2.0,
            bar_right - bar_left,
            14.0,
            crate::figure::Color(0xf3, 0xf4, 0xf6),
        );
        let w = (bar_right - bar_left) * n as f32 / max as f32;
        if n > 0 {
            f.rect(bar_left, y + 2.0, w.max(1.0), 14.0, severity_color(sev));
        }
        let share = if total == 0 {
            0.0
        } else {
            100.0 * n as f64 / total as f64
        };
        f.shapes.push(Shape::Text {
            x: bar_right + 6.0,
            y: y + 12.0,
            size: 9.0,
            text: format!("{} ({share:.0}%)", crate::content::number_text(n as f64)),
            anchor: Anchor::Start,
            bold: false,
            color: INK,
        });
    }
    f
}

/// The severity colour key along the top of a chart.
pub(crate) fn legend(f: &mut Figure, y: f32) {
    let mut x = 40.0;
    for sev in SEVERITIES {
        f.rect(x, y, 8.0, 8.0, severity_color(sev));
        f.shapes.push(Shape::Text {
            x: x + 11.0,
            y: y + 7.5,
            size: 8.0,
            text: capitalised(sev),
            anchor: Anchor::Start,
            bold: false,
            color: INK,
        });
        x += 70.0;
    }
}

pub(crate) fn capitalised(s: &str) -> String {
    crate::content::label_of(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(7, 4), 2);
        assert_eq!(nice_step(1, 4), 1);
        assert_eq!(nice_step(950, 4), 500);
        assert_eq!(nice_step(40_000, 4), 10_000);
    }

    #[test]
    fn a_trend_draws_one_stack_per_day() {
        let days = vec![
            Day {
                date: "2026-04-01".into(),
                counts: SeverityCounts {
                    critical: 1,
                    high: 2,
                    ..Default::default()
                },
            },
            Day {
                date: "2026-04-02".into(),
                counts: Default::default(),
            },
        ];
        let f = trend(&days);
        let bars = f
            .shapes
            .iter()
            .filter(|s| matches!(s, Shape::Rect { w, .. } if *w > 8.0))
            .count();
        assert_eq!(bars, 2, "one rect per non-zero severity of each day");
        assert!(f.to_svg().contains("04-01"));
    }
}
