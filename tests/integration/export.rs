//! `export`: an account's phones as a spec, round-tripped through `plan` with no changes; groups for big
//! fleets; unsettled phones commented; and `plan` counting phones the spec does not manage.

use crate::support::{Dir, Sim, pf, providers};

const ACCOUNT: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: routing, properties: {sys.prop.writewifissid: w1, ro.install.auto: '1'}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: stopped, traffic: direct}
  - {provider: huawei-cph, id: c3, project_id: p1, status: 7}
  - {provider: huawei-cph, id: c4, project_id: p2, status: running}
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: stopped}
  - {provider: koophone, id: k1, status: running}
  - {provider: koophone, id: k2, status: 5}
";

#[test]
fn export_then_plan_shows_no_changes_for_each_provider() {
    let sim = Sim::start(ACCOUNT);
    let dir = Dir::with_spec(&providers(&sim.url()));
    for (provider, flags, expect) in [
        (
            "cph",
            vec!["--with-properties"],
            vec![
                "\"sys.prop.writewifissid\": \"w1\"",
                "traffic: routing",
                "# status 7 (stopping): transitional; exported without a state",
            ],
        ),
        (
            "gl",
            vec![],
            vec!["id: \"g2\"\n    provider: gl\n    state: stopped"],
        ),
        (
            "kp",
            vec![],
            vec!["id: \"k2\"\n    provider: kp\n    state: stopped"],
        ),
    ] {
        let mut cmd = pf(&["export", "--provider", provider, &dir.spec()]);
        for f in &flags {
            cmd = cmd.arg(f);
        }
        let out = cmd.run();
        out.code(0);
        for e in expect {
            out.stdout_has(e);
        }
        let exported = dir.write(&format!("{provider}.yaml"), &out.stdout);
        pf(&["validate", &exported]).run().code(0);
        let plan = pf(&["plan", &exported]).run();
        plan.code(0);
        // Everything matches: the unsettled CPH phone is exported without a state, and a phone in
        // transition whose managed attributes match is not drift.
        plan.stdout_has("No changes. The fleet matches the spec.");
        if provider == "cph" {
            assert!(
                !plan.stdout.contains("c4"),
                "other projects are not exported"
            );
        }
    }
}

#[test]
fn group_by_state_folds_a_big_fleet_into_a_short_file() {
    let mut fixture = String::from("phones:\n");
    for i in 0..1000 {
        let status = if i % 4 == 0 { "stopped" } else { "running" };
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:04}, status: {status}}}\n"
        ));
    }
    let sim = Sim::start(&fixture);
    let dir = Dir::with_spec(&providers(&sim.url()));
    let out = pf(&[
        "export",
        "--provider",
        "gl",
        &dir.spec(),
        "--group-by",
        "state",
    ])
    .run();
    out.code(0);
    assert_eq!(out.stdout.matches("- provider: gl").count(), 2);
    assert!(
        out.stdout.lines().count() < 250,
        "{} lines",
        out.stdout.lines().count()
    );
    assert_eq!(
        sim.stats().get("POST /open/v1/phone/list"),
        Some(&10),
        "1000 phones, 100 a page"
    );
    let exported = dir.write("gl.yaml", &out.stdout);
    let plan = pf(&["plan", &exported]).run();
    plan.code(0)
        .stdout_has("1000 phones already match the spec");
}

#[test]
fn plan_counts_phones_the_spec_does_not_manage_and_names_them_with_v() {
    let sim = Sim::start(ACCOUNT);
    let spec = format!(
        "{}phones:\n  - {{id: c1, provider: cph}}\n  - {{id: g1, provider: gl}}\n  - {{id: k1, provider: kp}}\n",
        providers(&sim.url())
    );
    let dir = Dir::with_spec(&spec);
    let out = pf(&["plan", &dir.spec()]).run();
    out.code(0)
        .stdout_has("2 phones at `cph` are not managed by this spec (never changed). Run with -v to list them.")
        .stdout_has("1 phone at `gl` is not managed by this spec")
        .stdout_has("1 phone at `kp` is not managed by this spec");
    let verbose = pf(&["plan", &dir.spec(), "-v"]).run();
    verbose.code(0).stdout_has(
        "2 phones at `cph` are not managed by this spec (never changed).\n  ids: c2, c3\n",
    );
    assert_eq!(sim.mutating_calls(), 0);
    pf(&["export", "--provider", "nope", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("provider `nope` is not defined");
}

/// A phone whose properties cannot be read is an error for an export with properties, never a phone
/// written without them.
#[test]
fn export_with_properties_refuses_a_phone_it_cannot_read() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {k: a}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {k: b}, unreadable: true}
",
    );
    let dir = Dir::with_spec(&format!("{}phones: []\n", providers(&sim.url())));
    let out = pf(&[
        "export",
        "--provider",
        "cph",
        &dir.spec(),
        "--with-properties",
        "--timeout",
        "5",
    ])
    .run();
    out.code(1)
        .no_panic()
        .stderr_has("the properties of phone c2 could not be read");
    assert!(!out.stdout.contains("c2"), "{}", out.stdout);
}
