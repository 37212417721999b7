//! `phonefleet status`: the live fleet as a table (one line per phone: provider, name, id, live power
//! and route, declared state, in sync or what differs), a line per provider, and the same as JSON.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::color::Color;
use crate::ops::status::{Row, Sync, Tally};

/// The table and the summary lines.
pub fn text(rows: &[Row], tallies: &BTreeMap<String, Tally>, color: Color) -> String {
    let clean = |s: &str| crate::redact::controls(s).into_owned();
    let declared = |r: &Row| {
        let d = match (&r.declared_state, &r.declared_traffic) {
            (Some(s), Some(t)) => format!("{s}, {t}"),
            (Some(s), None) => s.clone(),
            (None, Some(t)) => t.clone(),
            (None, None) => "-".to_owned(),
        };
        match &r.schedule {
            Some(s) => format!("{d} ({s})"),
            None => d,
        }
    };
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let sync = match &r.differs {
                Some(d) => format!("{}: {}", r.sync.word(), clean(d)),
                None => r.sync.word().to_owned(),
            };
            [
                clean(&r.provider),
                r.name.as_deref().map_or_else(|| "-".to_owned(), clean),
                clean(&r.phone_id),
                clean(&r.power),
                r.traffic.clone().unwrap_or_else(|| "-".to_owned()),
                declared(r),
                sync,
            ]
        })
        .collect();
    let head = [
        "PROVIDER", "NAME", "ID", "POWER", "ROUTE", "DECLARED", "STATUS",
    ];
    let mut width = head.map(str::len);
    for c in &cells {
        for (w, cell) in width.iter_mut().zip(c) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        l
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", color.bold(&line(&head.map(str::to_owned))));
    for (r, c) in rows.iter().zip(&cells) {
        let l = line(c);
        let l = match r.sync {
            Sync::InSync | Sync::Converging => l,
            Sync::Drifted | Sync::RestartPending => color.update(&l),
            Sync::Blocked | Sync::Unreadable => color.warn(&l),
        };
        let _ = writeln!(out, "{l}");
    }
    out.push('\n');
    for (provider, t) in tallies {
        let _ = writeln!(out, "{}", tally_line(provider, t));
    }
    out
}

/// `cph: 3 phones (2 running, 1 stopped): 2 in sync, 1 drifted.`
fn tally_line(provider: &str, t: &Tally) -> String {
    let mut power = vec![
        format!("{} running", t.running),
        format!("{} stopped", t.stopped),
    ];
    for (n, word) in [
        (t.transitioning, "in transition"),
        (t.failed, "failed or not found"),
        (t.unreadable, "unread"),
    ] {
        if n > 0 {
            power.push(format!("{n} {word}"));
        }
    }
    let mut sync = vec![
        format!("{} in sync", t.in_sync),
        format!("{} drifted", t.drifted),
    ];
    if t.blocked > 0 {
        sync.push(format!("{} blocked", t.blocked));
    }
    format!(
        "{provider}: {} ({}): {}.",
        super::counted(t.phones, "phone", "phones"),
        power.join(", "),
        sync.join(", ")
    )
}

#[derive(Serialize)]
struct StatusJson<'a> {
    format_version: u32,
    phones: &'a [Row],
    providers: &'a BTreeMap<String, Tally>,
    warnings: Vec<String>,
}

/// The status as JSON (format_version 1).
pub fn json(rows: &[Row], tallies: &BTreeMap<String, Tally>, warnings: Vec<String>) -> String {
    let mut s = serde_json::to_string_pretty(&StatusJson {
        format_version: 1,
        phones: rows,
        providers: tallies,
        warnings,
    })
    .expect("a status serializes");
    s.push('\n');
    s
}
