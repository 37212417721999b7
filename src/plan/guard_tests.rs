//! Guard rails, canaries and sensitive values in computed and rendered plans.

use super::tests::{plan_under, seen, want};
use super::*;
use crate::render::wrap::Layout;
use crate::render::{json, markdown, text};
use crate::spec::PowerState::{Running, Stopped};
use crate::spec::Safety;
use ProviderKind::{Geelark, HuaweiCph};

fn policy(max_changes: Option<u64>, max_stop_percent: Option<u64>) -> Policy {
    Policy {
        safety: Safety {
            max_changes,
            max_stop_percent,
            sensitive_properties: vec!["persist.sys.*".into()],
            max_stop_percent_by_label: Default::default(),
            max_deletes: None,
            max_resets: None,
        },
        declared: [("cph".to_owned(), 4), ("gl".to_owned(), 10)].into(),
        canary: None,
        declared_by_label: Default::default(),
        restart_pending: false,
        restart: Default::default(),
        reset: Default::default(),
        restart_failed: false,
        images: Default::default(),
    }
}

#[test]
fn guards_count_changed_phones_stops_per_provider_and_protected_phones() {
    let mut protected = want("cph", "c1", Some(Stopped), None, &[]);
    protected.protect = true;
    let desired = [
        protected,
        want("cph", "c2", Some(Stopped), None, &[]),
        want("cph", "c3", Some(Running), None, &[]),
        want("gl", "g1", Some(Stopped), None, &[]),
    ];
    let observed = [
        ("cph", "c1", seen(HuaweiCph, 2, None, None)),
        ("cph", "c2", seen(HuaweiCph, 2, None, None)),
        ("cph", "c3", seen(HuaweiCph, 8, None, None)),
        ("gl", "g1", seen(Geelark, 0, None, None)),
    ];
    let plan = plan_under(&desired, &observed, None, &policy(Some(3), Some(25)));
    let verdicts: Vec<(&str, Option<&str>, u64, u64, bool)> = plan
        .guards
        .iter()
        .map(|g| {
            (
                g.guard.name(),
                g.provider.as_deref(),
                g.limit,
                g.planned,
                g.broken(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("protect", Some("cph"), 0, 1, true),
            ("max_changes", None, 3, 4, true),
            // 2 of 4 declared: 50%; 1 of 10: 10%.
            ("max_stop_percent", Some("cph"), 25, 50, true),
            ("max_stop_percent", Some("gl"), 25, 10, false),
        ]
    );
    assert_eq!(plan.guards[0].phones, ["c1"]);
    assert!(plan.breaks_protection());
    let shown = text::plan(&plan, Layout::plain());
    assert!(
        shown.contains("  BROKEN protect at cph: the spec would stop 1 protected phone (c1)"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "  ok     max_stop_percent at gl: 10% (1 of 10 declared phones stop), limit 25%"
        ),
        "{shown}"
    );
    // Guards come before the changes.
    assert!(shown.find("Guards").unwrap() < shown.find("To stop").unwrap());
    let md = markdown::plan(&plan);
    assert!(
        md.contains("- **BROKEN** max\\_changes: 4 phones change, limit 3"),
        "{md}"
    );
    let js: serde_json::Value = serde_json::from_str(&json::plan(&plan, "d")).unwrap();
    assert_eq!(js["guards"][2]["guard"], "max_stop_percent");
    assert_eq!(js["guards"][2]["stops"], 2);
    assert_eq!(js["guards"][2]["declared"], 4);
    assert_eq!(js["guards"][0]["overridable"], false);
    assert_eq!(js["guards"][0]["phones"][0], "c1");
}

#[test]
fn a_plan_within_its_guards_breaks_none() {
    let desired = [want("gl", "g1", Some(Stopped), None, &[])];
    let observed = [("gl", "g1", seen(Geelark, 0, None, None))];
    let plan = plan_under(&desired, &observed, None, &policy(Some(1), Some(10)));
    assert!(plan.guards.iter().all(|g| !g.broken()), "{:?}", plan.guards);
    assert!(!plan.breaks_protection());
    // Starting a protected phone is fine.
    let mut p = want("gl", "g1", Some(Running), None, &[]);
    p.protect = true;
    let observed = [("gl", "g1", seen(Geelark, 2, None, None))];
    let plan = plan_under(&[p], &observed, None, &Policy::default());
    assert!(plan.guards.is_empty());
}

#[test]
fn a_canary_sends_the_first_n_phones_of_each_action_first() {
    let mut desired = Vec::new();
    let mut observed = Vec::new();
    for i in 0..5 {
        let id = format!("c{i}");
        let wants_props = i % 2 == 0;
        let p: &[(&str, &str)] = if wants_props { &[("a", "2")] } else { &[] };
        desired.push(want("cph", &id, Some(Running), None, p));
        observed.push(("cph", id, seen(HuaweiCph, 8, None, Some(&[("a", "1")]))));
    }
    let pol = Policy {
        canary: Some(1),
        ..Policy::default()
    };
    let plan = plan_under(&desired, &observed, None, &pol);
    let batches: Vec<(bool, &str, Vec<&str>)> = plan
        .batches
        .iter()
        .map(|b| (b.canary, b.action.name(), b.ids().collect()))
        .collect();
    // c0 is first for set_properties and for start: it alone is the canary, whole chain.
    assert_eq!(
        batches,
        [
            (true, "set_properties", vec!["c0"]),
            (true, "start", vec!["c0"]),
            (false, "set_properties", vec!["c2", "c4"]),
            (false, "start", vec!["c1", "c3"]),
            (false, "start", vec!["c2", "c4"]),
        ]
    );
    assert_eq!(plan.summary.total_calls(), 5);
    let shown = text::plan(&plan, Layout::plain());
    assert!(shown.contains("Canary (--canary 1)"), "{shown}");
    assert!(shown.contains("  cph: c0\n"), "{shown}");
    let js: serde_json::Value = serde_json::from_str(&json::plan(&plan, "d")).unwrap();
    assert_eq!(js["canary"], 1);
    assert_eq!(js["batches"][0]["canary"], true);
    assert_eq!(js["batches"][2]["canary"], false);
}

#[test]
fn sensitive_values_show_only_that_they_change() {
    let imsi_old = "460001234567890";
    let imsi_new = "460009876543210";
    let desired = [want(
        "cph",
        "c1",
        None,
        None,
        &[
            ("sys.prop.writeimsi", imsi_new),
            ("persist.sys.token_x", "kept-secret-1"),
            ("ro.model", "P40"),
        ],
    )];
    let observed = [(
        "cph",
        "c1",
        seen(
            HuaweiCph,
            2,
            None,
            Some(&[
                ("sys.prop.writeimsi", imsi_old),
                ("persist.sys.token_x", "kept-secret-1"),
                ("ro.model", "P30"),
            ]),
        ),
    )];
    let plan = plan_under(&desired, &observed, None, &policy(None, None));
    let outputs = [
        text::plan(&plan, Layout::plain()),
        markdown::plan(&plan),
        json::plan(&plan, "d"),
    ];
    for out in &outputs {
        for value in [imsi_old, imsi_new, "kept-secret-1"] {
            assert!(!out.contains(value), "{value} shown in:\n{out}");
        }
        assert!(out.contains("P40"), "{out}");
    }
    for line in [
        "  -  sys.prop.writeimsi: \"(sensitive)\"\n",
        "  +  sys.prop.writeimsi: \"(sensitive, new value)\"\n",
    ] {
        assert!(outputs[0].contains(line), "{}", outputs[0]);
    }
    assert!(outputs[0].contains("   persist.sys.token_x: \"(sensitive)\""));
    // The JSON names the changed keys, not their values; an unchanged sensitive key is not listed.
    let js: serde_json::Value = serde_json::from_str(&outputs[2]).unwrap();
    let after = &js["changes"][0]["actions"][0]["after"];
    assert_eq!(after["sys.prop.writeimsi"], "(sensitive, new value)");
    assert!(after.get("persist.sys.token_x").is_none());
    // A person at a terminal may ask to see them.
    let revealed = text::plan_with(&plan, Layout::plain(), true);
    assert!(revealed.contains(imsi_new) && revealed.contains(imsi_old));
    // The plan itself keeps what apply sends.
    assert_eq!(
        plan.batches[0].phones[0].properties["sys.prop.writeimsi"],
        imsi_new.into()
    );
}
