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
            vec!["id: \"g2\"\n    provider: gl\n    name: \"phone-g2\"\n    state: stopped"],
        ),
        (
            "kp",
            vec![],
            vec!["id: \"k2\"\n    provider: kp\n    name: \"instance-k2\"\n    state: stopped"],
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
    // One line a phone: its id, and its name as a comment (groups hold ids only).
    assert!(
        out.stdout.lines().count() < 1020,
        "{} lines",
        out.stdout.lines().count()
    );
    out.stdout_has("      - \"g0001\"  # phone-g0001\n");
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

/// `export --phones-only` writes a file for a spec directory whose providers are declared elsewhere:
/// names kept, Integer CPH attributes as numbers, and what a spec cannot declare (KooPhone frozen, CPH
/// `custom_property`) as comments. Before it, `plan` counts an account with no declared phone as "not
/// managed"; after it, the directory validates and plans clean.
#[test]
fn phones_only_export_fits_a_spec_directory_and_keeps_names() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct, name: store12-a, properties: {com.cph.mainkeys: 1, sys.prop.writewifissid: w1}, custom_property: {vendor.tag: blue}}
  - {provider: geelark, id: g1, status: running, name: growth-001}
  - {provider: koophone, id: k1, status: stopped, name: kp-frozen, koophone_code: KOOPHONE.API.2004}
  - {provider: koophone, id: k2, status: running, name: kp-ok}
",
    );
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    std::fs::write(fleet.join("00-providers.yaml"), providers(&sim.url())).unwrap();
    let fleet_arg = fleet.display().to_string();
    // No phone declared: every account's phones are counted, none of them planned.
    pf(&["plan", &fleet_arg])
        .run()
        .code(0)
        .stdout_has("1 phone at `cph` is not managed by this spec")
        .stdout_has("1 phone at `gl` is not managed by this spec")
        .stdout_has("2 phones at `kp` are not managed by this spec");
    let out = pf(&["export", &fleet_arg, "--phones-only", "--with-properties"]).run();
    out.code(0)
        .stdout_has("name: \"store12-a\"")
        .stdout_has("name: \"growth-001\"")
        .stdout_has("\"com.cph.mainkeys\": 1\n")
        .stdout_has("\"sys.prop.writewifissid\": \"w1\"")
        .stdout_has("# custom_property (not managed by phonefleet): vendor.tag\n")
        .stdout_has("# frozen (frozen_status 1): KooPhone refuses every change until it is unfrozen\n  - id: \"k1\"");
    assert!(out.stdout.contains("\nproviders: {}\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("kind:"), "{}", out.stdout);
    assert!(!out.stdout.contains("blue"), "custom values are not copied");
    std::fs::write(fleet.join("phones.yaml"), &out.stdout).unwrap();
    pf(&["validate", &fleet_arg]).run().code(0);
    let plan = pf(&["plan", &fleet_arg]).run();
    // The frozen instance is read as KooPhone answers it (2004) and shown blocked; the rest match.
    plan.code(0)
        .stdout_has("3 phones already match the spec")
        .stdout_has("frozen");
    assert!(!plan.stdout.contains("not managed"), "{}", plan.stdout);
    // Grouped, names stay beside the ids.
    let grouped = pf(&["export", &fleet_arg, "--phones-only", "--group-by", "state"]).run();
    grouped.code(0).stdout_has("- \"k2\"  # kp-ok\n");
}
