//! Table-driven tests of `compute`: a spec and an observed state in, a plan out. No network.

use std::collections::BTreeMap;

use super::*;
use crate::render::wrap::Layout;
use crate::render::{markdown, text};
use crate::spec::{Limits, PowerState, Properties, Traffic};
use crate::state::ObservedPhone;

fn provider(kind: ProviderKind) -> ProviderConfig {
    ProviderConfig {
        kind,
        region: (kind == ProviderKind::HuaweiCph).then(|| "cn-east-3".into()),
        project_id: (kind == ProviderKind::HuaweiCph).then(|| "p1".into()),
        endpoint: None,
        credentials: None,
        limits: None,
        trace_id_format: None,
        names: Default::default(),
        proxies: Default::default(),
    }
}

fn providers() -> BTreeMap<String, ProviderConfig> {
    [
        ("cph", ProviderKind::HuaweiCph),
        ("gl", ProviderKind::Geelark),
        ("kp", ProviderKind::Koophone),
    ]
    .into_iter()
    .map(|(n, k)| (n.to_owned(), provider(k)))
    .collect()
}

fn props(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn desired_props(pairs: &[(&str, &str)]) -> crate::spec::DesiredProperties {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).into()))
        .collect()
}

pub(super) fn want(
    provider: &str,
    id: &str,
    state: Option<PowerState>,
    traffic: Option<Traffic>,
    p: &[(&str, &str)],
) -> DesiredPhone {
    DesiredPhone {
        labels: Default::default(),
        provider: provider.into(),
        id: id.into(),
        name: None,
        state,
        traffic,
        properties: desired_props(p),
        protect: false,
        restart: crate::spec::RestartPolicy::Never,
        manage_name: false,
        group: None,
        tags: None,
        remark: None,
        proxy: None,
        image: None,
        pool: None,
        schedule: None,
    }
}

pub(super) fn seen(
    kind: ProviderKind,
    raw: i64,
    traffic: Option<Traffic>,
    p: Option<&[(&str, &str)]>,
) -> Observation {
    Observation::Found(ObservedPhone {
        raw_status: raw,
        power: state::normalise(kind, raw),
        traffic,
        properties: p.map(props),
        name: None,
        restart_pending: Vec::new(),
        details: None,
        device: None,
    })
}

/// The plan of `desired` against `observed` (provider, phone id, observation); ids borrowed or owned.
fn plan_of<S: AsRef<str>>(
    desired: &[DesiredPhone],
    observed: &[(&str, S, Observation)],
    limits: Option<Limits>,
) -> Plan {
    plan_under(desired, observed, limits, &Policy::default())
}

/// [`plan_of`] under guard rails.
pub(super) fn plan_under<S: AsRef<str>>(
    desired: &[DesiredPhone],
    observed: &[(&str, S, Observation)],
    limits: Option<Limits>,
    policy: &Policy,
) -> Plan {
    let mut providers = providers();
    if let Some(l) = limits {
        for p in providers.values_mut() {
            p.limits = Some(l);
        }
    }
    let mut state = FleetState::default();
    for (p, id, o) in observed {
        state.insert(p, id.as_ref().to_owned(), o.clone());
    }
    let limits = crate::capability::limits_for(&providers, crate::capability::Overrides::default());
    compute(&PlanInput {
        providers: &providers,
        desired,
        observed: &state,
        limits: &limits,
        policy,
    })
}

use crate::spec::PowerState::{Running, Stopped};
use ProviderKind::{Geelark, HuaweiCph, Koophone};

#[test]
fn one_phone_each_way() {
    struct Case {
        name: &'static str,
        desired: DesiredPhone,
        observed: Observation,
        actions: Vec<Action>,
        blocked: Option<&'static str>,
    }
    let cases = vec![
        Case {
            name: "cph running, wants stopped",
            desired: want("cph", "a", Some(Stopped), None, &[]),
            observed: seen(HuaweiCph, 2, Some(Traffic::Direct), None),
            actions: vec![Action::Stop],
            blocked: None,
        },
        Case {
            name: "cph stopped, wants running",
            desired: want("cph", "a", Some(Running), None, &[]),
            observed: seen(HuaweiCph, 8, Some(Traffic::Direct), None),
            actions: vec![Action::Start],
            blocked: None,
        },
        Case {
            name: "matching phone is unchanged",
            desired: want(
                "cph",
                "a",
                Some(Running),
                Some(Traffic::Direct),
                &[("k", "v")],
            ),
            observed: seen(
                HuaweiCph,
                2,
                Some(Traffic::Direct),
                Some(&[("k", "v"), ("other", "x")]),
            ),
            actions: vec![],
            blocked: None,
        },
        Case {
            name: "all three attributes differ: phase order",
            desired: want(
                "cph",
                "a",
                Some(Running),
                Some(Traffic::Routing),
                &[("k", "v")],
            ),
            observed: seen(HuaweiCph, 8, Some(Traffic::Direct), Some(&[("k", "old")])),
            actions: vec![
                Action::SetProperties,
                Action::SetTraffic(Traffic::Routing),
                Action::Start,
            ],
            blocked: None,
        },
        Case {
            name: "unmanaged attributes are ignored",
            desired: want("cph", "a", None, None, &[]),
            observed: seen(HuaweiCph, 8, Some(Traffic::Routing), None),
            actions: vec![],
            blocked: None,
        },
        Case {
            name: "not found",
            desired: want("cph", "a", Some(Running), None, &[]),
            observed: Observation::NotFound,
            actions: vec![],
            blocked: Some("phone not found at provider `cph`"),
        },
        Case {
            name: "cph stopping away from a declared running is blocked",
            desired: want("cph", "a", Some(Running), None, &[]),
            observed: seen(HuaweiCph, 7, None, None),
            actions: vec![],
            blocked: Some("status 7 (stopping): wait for it to settle and plan again"),
        },
        Case {
            name: "cph stopping towards a declared stop is converging, not a change",
            desired: want("cph", "a", Some(Stopped), None, &[]),
            observed: seen(HuaweiCph, 7, None, None),
            actions: vec![],
            blocked: None,
        },
        Case {
            name: "cph frozen needs a person",
            desired: want("cph", "a", None, None, &[("k", "v")]),
            observed: seen(HuaweiCph, 6, None, Some(&[])),
            actions: vec![],
            blocked: Some("status 6 (frozen): needs a person: check it in the provider's console"),
        },
        Case {
            name: "geelark expired",
            desired: want("gl", "g", Some(Running), None, &[]),
            observed: seen(Geelark, 3, None, None),
            actions: vec![],
            blocked: Some("status 3 (expired): needs a person: check it in the provider's console"),
        },
        Case {
            name: "geelark shut down, wants running",
            desired: want("gl", "g", Some(Running), None, &[]),
            observed: seen(Geelark, 2, None, None),
            actions: vec![Action::Start],
            blocked: None,
        },
        Case {
            name: "koophone power drift is blocked",
            desired: want("kp", "k", Some(Running), None, &[]),
            observed: seen(Koophone, 5, None, None),
            actions: vec![],
            blocked: Some(
                "koophone offers no API to start or stop an instance; change it in the KooPhone console",
            ),
        },
        Case {
            name: "koophone in the wanted state is fine",
            desired: want("kp", "k", Some(Stopped), None, &[]),
            observed: seen(Koophone, 1, None, None),
            actions: vec![],
            blocked: None,
        },
    ];
    for c in cases {
        let plan = plan_of(
            std::slice::from_ref(&c.desired),
            &[(&c.desired.provider, &c.desired.id, c.observed)],
            None,
        );
        match plan.changes.first() {
            None => {
                assert!(
                    c.actions.is_empty() && c.blocked.is_none(),
                    "{}: expected a change",
                    c.name
                );
                let converging = plan.summary.converging.len();
                assert_eq!(plan.summary.unchanged + converging, 1, "{}", c.name);
                assert!(!plan.summary.has_drift(), "{}", c.name);
            }
            Some(ch) => {
                assert_eq!(ch.actions, c.actions, "{}", c.name);
                assert_eq!(ch.blocked.as_deref(), c.blocked, "{}", c.name);
            }
        }
    }
}

#[test]
fn restart_notes_only_when_the_phone_stays_running() {
    let d = want(
        "cph",
        "a",
        None,
        None,
        &[("com.cph.mainkeys", "1"), ("ro.install.auto", "1")],
    );
    let running = plan_of(
        std::slice::from_ref(&d),
        &[("cph", "a", seen(HuaweiCph, 2, None, Some(&[])))],
        None,
    );
    assert_eq!(
        running.changes[0].notes,
        vec!["`com.cph.mainkeys` takes effect after restart".to_owned()]
    );
    let mut d2 = d.clone();
    d2.state = Some(Running);
    let started = plan_of(
        &[d2],
        &[("cph", "a", seen(HuaweiCph, 8, None, Some(&[])))],
        None,
    );
    assert!(started.changes[0].notes.is_empty());
}

#[test]
fn batches_group_by_provider_and_action_split_by_size_in_phase_order() {
    let mut desired = Vec::new();
    let mut observed = Vec::new();
    for i in 0..250 {
        let id = format!("c{i:03}");
        desired.push(want(
            "cph",
            &id,
            Some(Stopped),
            Some(Traffic::Routing),
            &[("k", "v")],
        ));
        observed.push((
            "cph",
            id,
            seen(HuaweiCph, 2, Some(Traffic::Direct), Some(&[])),
        ));
    }
    for i in 0..450 {
        let id = format!("g{i:03}");
        desired.push(want("gl", &id, Some(Running), None, &[]));
        observed.push(("gl", id, seen(Geelark, 2, None, None)));
    }
    let plan = plan_of(&desired, &observed, None);
    let shape: Vec<(&str, &str, usize)> = plan
        .batches
        .iter()
        .map(|b| (b.provider.as_str(), b.action.name(), b.phones.len()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("cph", "set_properties", 100),
            ("cph", "set_properties", 100),
            ("cph", "set_properties", 50),
            ("cph", "set_traffic", 100),
            ("cph", "set_traffic", 100),
            ("cph", "set_traffic", 50),
            ("cph", "stop", 100),
            ("cph", "stop", 100),
            ("cph", "stop", 50),
            ("gl", "start", 200),
            ("gl", "start", 200),
            ("gl", "start", 50),
        ]
    );
    assert_eq!(plan.summary.calls.get("cph"), Some(&9));
    assert_eq!(plan.summary.calls.get("gl"), Some(&3));
    assert_eq!(
        plan.batches[0].phones[0].properties,
        desired_props(&[("k", "v")])
    );
    // A smaller batch size in the spec is honoured; a larger one is capped by the documented maximum.
    let small = plan_of(
        &desired,
        &observed,
        Some(Limits {
            batch_size: Some(60),
            ..Limits::default()
        }),
    );
    assert_eq!(small.summary.calls.get("gl"), Some(&8));
    let big = plan_of(
        &desired,
        &observed,
        Some(Limits {
            batch_size: Some(150),
            ..Limits::default()
        }),
    );
    assert_eq!(big.summary.calls.get("cph"), Some(&(2 + 3 + 2)));
}

#[test]
fn only_changed_property_keys_are_sent() {
    let d = want("cph", "a", None, None, &[("a", "1"), ("b", "2")]);
    let plan = plan_of(
        &[d],
        &[(
            "cph",
            "a",
            seen(HuaweiCph, 2, None, Some(&[("a", "1"), ("b", "0")])),
        )],
        None,
    );
    assert_eq!(
        plan.batches[0].phones[0].properties,
        desired_props(&[("b", "2")])
    );
}

#[test]
fn order_is_deterministic() {
    let desired = vec![
        want("gl", "z", Some(Running), None, &[]),
        want("cph", "b", Some(Running), None, &[]),
        want("cph", "a", Some(Running), None, &[]),
    ];
    let obs = vec![
        ("gl", "z", seen(Geelark, 2, None, None)),
        ("cph", "b", seen(HuaweiCph, 8, None, None)),
        ("cph", "a", seen(HuaweiCph, 8, None, None)),
    ];
    let plan = plan_of(&desired, &obs, None);
    let order: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.provider.as_str(), c.phone_id.as_str()))
        .collect();
    assert_eq!(order, vec![("cph", "a"), ("cph", "b"), ("gl", "z")]);
}

fn sample() -> Plan {
    let mut desired = vec![
        want(
            "cph",
            "a7f3a1c5258347d6b6f1def79e11f2bc",
            Some(Running),
            Some(Traffic::Routing),
            &[
                ("sys.prop.writephonenum", "13666666666"),
                ("com.cph.mainkeys", "1"),
            ],
        ),
        want(
            "cph",
            "c7f3a1c5258347d6b6f1def79e11f2bc",
            Some(Stopped),
            None,
            &[],
        ),
        want("kp", "a44uhlf7", Some(Running), None, &[]),
    ];
    desired[0].name = Some("checkout-bot-1".into());
    for i in 0..3 {
        desired.push(want(
            "gl",
            &format!("{i}23456ABCDEF"),
            Some(Running),
            None,
            &[],
        ));
    }
    let mut obs = vec![
        (
            "cph",
            "a7f3a1c5258347d6b6f1def79e11f2bc".to_owned(),
            seen(
                HuaweiCph,
                2,
                Some(Traffic::Direct),
                Some(&[("sys.prop.writephonenum", "1")]),
            ),
        ),
        (
            "cph",
            "c7f3a1c5258347d6b6f1def79e11f2bc".to_owned(),
            seen(HuaweiCph, -7, None, None),
        ),
        ("kp", "a44uhlf7".to_owned(), seen(Koophone, 5, None, None)),
    ];
    for i in 0..3 {
        obs.push((
            "gl",
            format!("{i}23456ABCDEF"),
            seen(Geelark, 2, None, None),
        ));
    }
    plan_of(&desired, &obs, None)
}

#[test]
fn text_rendering() {
    insta::assert_snapshot!(text::plan(&sample(), Layout::plain()));
}

#[test]
fn markdown_rendering() {
    insta::assert_snapshot!(markdown::plan(&sample()));
}

#[test]
fn a_100k_phone_plan_is_complete() {
    let n = 100_000;
    let mut desired = Vec::with_capacity(n);
    let mut state = FleetState::default();
    for i in 0..n {
        let (p, kind, raw) = match i % 3 {
            0 => ("cph", HuaweiCph, if i % 2 == 0 { 8 } else { 2 }),
            1 => ("gl", Geelark, if i % 2 == 0 { 2 } else { 0 }),
            _ => ("kp", Koophone, 2),
        };
        let id = format!("p{i:06}");
        desired.push(want(p, &id, Some(Running), None, &[]));
        state.insert(p, id, seen(kind, raw, Some(Traffic::Direct), None));
    }
    let providers = providers();
    let limits = crate::capability::limits_for(&providers, crate::capability::Overrides::default());
    let plan = compute(&PlanInput {
        providers: &providers,
        desired: &desired,
        observed: &state,
        limits: &limits,
        policy: &Policy::default(),
    });
    let to_start = (0..n).filter(|i| i % 3 != 2 && i % 2 == 0).count();
    assert_eq!(plan.summary.of(ActionKind::Start), to_start);
    assert_eq!(plan.summary.unchanged, n - to_start);
    let covered: usize = plan.batches.iter().map(|b| b.phones.len()).sum();
    assert_eq!(covered, to_start);
    let full = Layout {
        full: true,
        ..Layout::plain()
    };
    let out = text::plan(&plan, full);
    let listed: std::collections::HashSet<&str> =
        out.split(|c: char| c == ',' || c.is_whitespace()).collect();
    for c in &plan.changes {
        assert!(
            listed.contains(c.phone_id.as_str()),
            "{} missing from the text plan",
            c.phone_id
        );
    }
    assert!(out.ends_with(&format!("{}\n", text::summary_line(&plan.summary))));
}

/// 600 phones of mixed drift, as a person would meet them: the summary first, stops in their own
/// section before anything else, id lists wrapped and capped, no line over 160 characters.
fn mixed_600() -> Plan {
    let mut desired = Vec::new();
    let mut obs = Vec::new();
    for i in 0..600 {
        let (p, id) = if i % 2 == 0 {
            ("cph", format!("{i:032x}"))
        } else {
            ("gl", format!("{i:012X}"))
        };
        let kind = if p == "cph" { HuaweiCph } else { Geelark };
        let (want_state, raw) = match i % 10 {
            0..=3 => (Running, if kind == HuaweiCph { 2 } else { 0 }),
            4 | 5 => (Stopped, if kind == HuaweiCph { 2 } else { 0 }),
            6 => (Running, if kind == HuaweiCph { 8 } else { 2 }),
            7 => (Stopped, if kind == HuaweiCph { 8 } else { 1 }),
            _ => (Stopped, if kind == HuaweiCph { 8 } else { 2 }),
        };
        let traffic = (kind == HuaweiCph && i % 6 == 0).then_some(Traffic::Routing);
        desired.push(want(p, &id, Some(want_state), traffic, &[]));
        obs.push((p, id, seen(kind, raw, Some(Traffic::Direct), None)));
    }
    plan_of(&desired, &obs, None)
}

#[test]
fn a_600_phone_plan_scales_to_the_eye() {
    let plan = mixed_600();
    let out = text::plan(&plan, Layout::plain());
    assert!(out.lines().all(|l| l.chars().count() <= 160), "a long line");
    let summary = text::summary_line(&plan.summary);
    assert!(out.starts_with(&summary) && out.ends_with(&format!("{summary}\n")));
    let stop = out.find("To stop (").unwrap();
    let start = out.find("To start (").unwrap();
    assert!(stop < start, "stops come first");
    insta::assert_snapshot!(out);
}

#[test]
fn a_huge_markdown_plan_counts_what_it_leaves_out_once() {
    let mut desired = Vec::new();
    let mut obs = Vec::new();
    for i in 0..30_000 {
        let id = format!("{i:032x}");
        let v = format!("v{i}");
        match i % 3 {
            // Each with its own diff: a block each.
            0 => {
                desired.push(want("cph", &id, Some(Running), None, &[("k", v.as_str())]));
                obs.push((
                    "cph",
                    id,
                    seen(HuaweiCph, 2, Some(Traffic::Direct), Some(&[("k", "old")])),
                ));
            }
            // One block of 10,000 ids.
            1 => {
                desired.push(want("cph", &id, Some(Stopped), None, &[]));
                obs.push(("cph", id, seen(HuaweiCph, 2, Some(Traffic::Direct), None)));
            }
            // Blocked.
            _ => {
                desired.push(want("cph", &id, Some(Running), None, &[]));
                obs.push(("cph", id, seen(HuaweiCph, 7, Some(Traffic::Direct), None)));
            }
        }
    }
    let md = markdown::plan(&plan_of(&desired, &obs, None));
    assert!(md.len() <= markdown::BUDGET, "{}", md.len());
    // Nothing goes missing: the stops' block (first, with a count), as many property blocks as fit, and
    // the rest of them folded into one counted line.
    assert!(md.contains("# cph / 10000 phones: stop\n"), "{md}");
    // Every number of the summary written the same way.
    assert!(
        md.contains("20,000 phones, 20,000 changes: 10,000 to stop, 0 to start, 0 to re-route, 10,000 to update properties; 10,000 blocked."),
        "{}",
        &md[..400]
    );
    let shown = md
        .lines()
        .filter(|l| l.starts_with("# cph / ") && l.ends_with(": set_properties"))
        .count();
    let folded: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("(not listed: the comment is full"))
        .collect();
    assert_eq!(folded.len(), 1, "{folded:?}");
    let n: usize = folded[0]
        .trim_start_matches("# cph / ")
        .split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(shown > 0 && n > 0, "{shown} {n}");
    assert_eq!(shown + n, 10_000, "{}", folded[0]);
    assert!(
        folded[0].contains("phones: set_properties"),
        "{}",
        folded[0]
    );
    assert_eq!(md.matches("more blocked phones").count(), 1);
}

/// A 700-phone pull request whose blocks do not all fit: every (provider, actions) block is there with
/// its count, none dropped, the pull request's own blocks before drift's; stops grouped by label.
#[test]
fn a_big_pull_request_comment_drops_no_block() {
    let mut desired = Vec::new();
    let mut obs = Vec::new();
    for i in 0..700 {
        let id = format!("{i:032x}");
        let v = format!("value-{i}-{}", "x".repeat(200));
        match i % 7 {
            // A block each (their own property values): 300 blocks.
            0..=2 => {
                desired.push(want("cph", &id, None, None, &[("k", v.as_str())]));
                obs.push((
                    "cph",
                    id,
                    seen(HuaweiCph, 2, Some(Traffic::Routing), Some(&[("k", "old")])),
                ));
            }
            // 100 re-routed.
            3 => {
                desired.push(want("cph", &id, None, Some(Traffic::Direct), &[]));
                obs.push(("cph", id, seen(HuaweiCph, 2, Some(Traffic::Routing), None)));
            }
            // 300 stopped, labelled by team.
            _ => {
                let mut d = want("cph", &id, Some(Stopped), None, &[]);
                d.name = Some(format!("growth-{i}"));
                d.labels.insert(
                    "team".into(),
                    if i % 7 == 6 { "support" } else { "growth" }.into(),
                );
                desired.push(d);
                obs.push(("cph", id, seen(HuaweiCph, 2, Some(Traffic::Routing), None)));
            }
        }
    }
    let md = markdown::plan(&plan_of(&desired, &obs, None));
    assert!(md.len() <= markdown::BUDGET, "{}", md.len());
    assert!(md.contains("# cph / 100 phones: set_traffic\n"), "{md}");
    assert!(md.contains("phones: stop"), "{md}");
    let shown = md
        .lines()
        .filter(|l| l.starts_with("# cph / ") && l.ends_with(": set_properties"))
        .count();
    let folded: usize = md
        .lines()
        .filter(|l| l.contains("set_properties (not listed"))
        .map(|l| {
            l.trim_start_matches("# cph / ")
                .split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert!(folded > 0, "the budget binds in this test");
    assert_eq!(
        shown + folded,
        300,
        "every property change is there or counted"
    );
    assert!(
        md.contains("This plan **stops 300 phones**: 200 in team=growth (growth-4 ... growth-698); 100 in team=support (growth-6 ... growth-699)"),
        "{}",
        md.lines().find(|l| l.contains("stops")).unwrap_or_default()
    );
}
