//! The scenario's tables: the confusion matrix of near cases, the targets, and the misses.

use std::collections::BTreeMap;

use picket_corpus::model::Severity;

use super::cases::Case;
use super::{Outcome, Place};

/// 5 for critical … 1 for negligible, 0 for no threat.
fn rank(s: Option<Severity>) -> i32 {
    match s {
        Some(Severity::Critical) => 5,
        Some(Severity::High) => 4,
        Some(Severity::Medium) => 3,
        Some(Severity::Low) => 2,
        Some(Severity::Negligible) => 1,
        None => 0,
    }
}

fn pct(n: usize, of: usize) -> String {
    if of == 0 {
        return "no cases".into();
    }
    format!("{n}/{of} ({:.0} %)", 100.0 * n as f64 / of as f64)
}

fn name(s: Option<Severity>) -> &'static str {
    s.map_or("no threat", Severity::as_str)
}

pub fn print(cases: &[Case], outcomes: &[Outcome]) {
    let near: Vec<&Outcome> = outcomes.iter().filter(|o| o.place == Place::Near).collect();

    // Confusion matrix of the labelled near cases.
    let labelled: Vec<(&Case, &Outcome)> = near
        .iter()
        .filter_map(|o| cases[o.case].expected.map(|_| (&cases[o.case], *o)))
        .collect();
    let mut cells: BTreeMap<(i32, i32), usize> = BTreeMap::new();
    for (c, o) in &labelled {
        *cells
            .entry((rank(c.expected), rank(o.got.map(|g| g.0))))
            .or_default() += 1;
    }
    let columns: Vec<Option<Severity>> = Severity::ALL
        .iter()
        .copied()
        .map(Some)
        .chain([None])
        .collect();
    println!("\nLabelled cases with an asset near the event (USGS/GDACS 5 km, CAP inside the area, FIRMS 0.5 km, ACLED/GDELT 1 km, pushes 1–1.6 km):\n");
    println!(
        "| expected \\ Picket | {} |",
        columns
            .iter()
            .map(|s| name(*s))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---:|".repeat(columns.len()));
    for e in Severity::ALL {
        let row: Vec<String> = columns
            .iter()
            .map(|g| {
                cells
                    .get(&(rank(Some(*e)), rank(*g)))
                    .map_or("·".to_string(), |n| n.to_string())
            })
            .collect();
        println!("| {} | {} |", e.as_str(), row.join(" | "));
    }
    let within = labelled
        .iter()
        .filter(|(c, o)| {
            o.got.is_some() && (rank(c.expected) - rank(o.got.map(|g| g.0))).abs() <= 1
        })
        .count();
    let exact = labelled
        .iter()
        .filter(|(c, o)| rank(c.expected) == rank(o.got.map(|g| g.0)))
        .count();
    println!(
        "\nWithin one band: {}; exact band: {}.",
        pct(within, labelled.len()),
        pct(exact, labelled.len())
    );
    let mut by_source: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (c, o) in &labelled {
        let e = by_source.entry(c.source).or_default();
        e.1 += 1;
        if o.got.is_some() && (rank(c.expected) - rank(o.got.map(|g| g.0))).abs() <= 1 {
            e.0 += 1;
        }
    }
    println!(
        "By source: {}.",
        by_source
            .iter()
            .map(|(s, (n, of))| format!("{s} {}", pct(*n, *of)))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // The targets.
    let orange_red: Vec<&&Outcome> = near.iter().filter(|o| cases[o.case].orange_red).collect();
    let orange_red_hit = orange_red
        .iter()
        .filter(|o| rank(o.got.map(|g| g.0)) >= 4)
        .count();
    let green: Vec<&&Outcome> = near.iter().filter(|o| cases[o.case].green).collect();
    let green_critical = green
        .iter()
        .filter(|o| rank(o.got.map(|g| g.0)) == 5)
        .count();
    let none_near = near.iter().filter(|o| o.got.is_none()).count();

    // Distance: along each case's sweep, severity never rises.
    let mut sweeps: BTreeMap<usize, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes
        .iter()
        .filter(|o| !matches!(o.place, Place::Outside(_)))
    {
        if !cases[o.case].variant {
            sweeps.entry(o.case).or_default().push(o);
        }
    }
    let mut distance_breaks = Vec::new();
    for (case, mut sweep) in sweeps.iter().map(|(c, s)| (*c, s.clone())) {
        sweep.sort_by(|a, b| a.km.total_cmp(&b.km));
        for w in sweep.windows(2) {
            if key(w[1]) > key(w[0]) {
                distance_breaks.push(format!(
                    "{}: {} at {} km, {} at {} km",
                    cases[case].label,
                    name(w[0].got.map(|g| g.0)),
                    w[0].km,
                    name(w[1].got.map(|g| g.0)),
                    w[1].km
                ));
            }
        }
    }

    // Magnitude: within each group at 25 km, severity never falls as magnitude grows.
    let mut groups: BTreeMap<usize, Vec<(f64, &Outcome)>> = BTreeMap::new();
    for o in outcomes
        .iter()
        .filter(|o| o.place == Place::At(super::VARIANT_KM))
    {
        let c = &cases[o.case];
        if let (Some(g), Some(m)) = (c.mag_group, c.magnitude) {
            groups.entry(g).or_default().push((m, o));
        }
    }
    let mut magnitude_breaks = Vec::new();
    for group in groups.values_mut() {
        group.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in group.windows(2) {
            if key(w[1].1) < key(w[0].1) {
                magnitude_breaks.push(format!(
                    "{}: M{} {} but M{} {}",
                    cases[w[0].1.case].label,
                    w[0].0,
                    name(w[0].1.got.map(|g| g.0)),
                    w[1].0,
                    name(w[1].1.got.map(|g| g.0))
                ));
            }
        }
    }
    let outside: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o.place, Place::Outside(_)))
        .collect();
    let outside_hits: Vec<&&Outcome> = outside.iter().filter(|o| o.got.is_some()).collect();

    println!("\n| target | result |\n|---|---|");
    println!(
        "| GDACS Orange/Red sudden-onset events 5 km from an asset: high or critical (≥ 95 %) | {} |",
        pct(orange_red_hit, orange_red.len())
    );
    println!(
        "| GDACS Green and PAGER green sudden-onset events 5 km from an asset: critical (≤ 10 %) | {} |",
        pct(green_critical, green.len())
    );
    println!(
        "| near assets without a threat | {} |",
        pct(none_near, near.len())
    );
    println!(
        "| severity rises with distance (sweeps 5–400 km) | {} steps of {} sweeps |",
        distance_breaks.len(),
        sweeps.len()
    );
    println!(
        "| severity falls with magnitude (±0.5, ±1 at 25 km) | {} steps of {} groups |",
        magnitude_breaks.len(),
        groups.len()
    );
    println!(
        "| threats for an asset 5 km outside the radius | {} |",
        pct(outside_hits.len(), outside.len())
    );

    let misses: Vec<String> = labelled
        .iter()
        .filter(|(c, o)| o.got.is_none() || (rank(c.expected) - rank(o.got.map(|g| g.0))).abs() > 1)
        .map(|(c, o)| {
            format!(
                "{} {}: expected {}, got {}{}",
                c.source,
                c.label,
                name(c.expected),
                name(o.got.map(|g| g.0)),
                o.got.map_or(String::new(), |g| format!(" (risk {})", g.1))
            )
        })
        .collect();
    for (title, list) in [
        ("More than one band off", &misses),
        ("Severity rising with distance", &distance_breaks),
        ("Severity falling with magnitude", &magnitude_breaks),
    ] {
        if !list.is_empty() {
            println!("\n{title} ({}):", list.len());
            for l in list.iter().take(20) {
                println!("- {l}");
            }
        }
    }
    let outside_list: Vec<String> = outside_hits
        .iter()
        .take(20)
        .map(|o| format!("- {} at {:.0} km", cases[o.case].label, o.km))
        .collect();
    if !outside_list.is_empty() {
        println!("\nThreats outside the radius:\n{}", outside_list.join("\n"));
    }
}

/// The severity rank of an outcome, for ordering within a sweep or group.
fn key(o: &Outcome) -> i32 {
    rank(o.got.map(|g| g.0))
}
