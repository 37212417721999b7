//! Guard rails for production fleets, against the simulator: sensitive properties never shown (even when
//! a provider echoes them), protected phones never stopped, blast-radius limits refusing apply unless
//! overridden (and saved plans checked again), and canaries that go first and stop their provider when
//! they fail.

use std::time::Duration;

use serde_json::Value;

use crate::apply::Report;
use crate::support::{Dir, Sim, pf, providers};

const IMSI_OLD: &str = "460001234567890";
const IMSI_NEW: &str = "460009876543210";
const PHONE_NEW: &str = "+8613800138000";

#[test]
fn sensitive_values_never_leave_a_plan_or_report_unless_a_person_asks() {
    let sim = Sim::start(&format!(
        "phones:
  - {{provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {{sys.prop.writeimsi: '{IMSI_OLD}', persist.sys.team: red-team-42, ro.model: P30}}}}
"
    ));
    let spec = format!(
        "{}safety:
  sensitive_properties: ['persist.sys.*']
phones:
  - id: c1
    provider: cph
    properties:
      sys.prop.writeimsi: '{IMSI_NEW}'
      sys.prop.writephonenum: '{PHONE_NEW}'
      persist.sys.team: blue-team-42
      ro.model: P40
",
        providers(&sim.url())
    );
    let dir = Dir::with_spec(&spec);
    let hidden = [IMSI_OLD, IMSI_NEW, PHONE_NEW, "red-team-42", "blue-team-42"];
    let refute = |out: &str| {
        for v in hidden {
            assert!(!out.contains(v), "`{v}` shown:\n{out}");
        }
    };
    let text = pf(&["plan", &dir.spec()]).run();
    text.code(0)
        .stdout_has("-  sys.prop.writeimsi: \"(sensitive)\"")
        .stdout_has("+  sys.prop.writeimsi: \"(sensitive, new value)\"")
        .stdout_has("+  sys.prop.writephonenum: \"(sensitive, new value)\"")
        .stdout_has("+  ro.model: \"P40\"");
    refute(&text.stdout);
    refute(&text.stderr);
    let md = pf(&["plan", &dir.spec(), "--markdown"]).run();
    md.code(0).stdout_has("(sensitive, new value)");
    refute(&md.stdout);
    let json = pf(&["plan", &dir.spec(), "--json", "--show-sensitive"]).run();
    json.code(0)
        .stderr_has("--show-sensitive shows values in text output only");
    refute(&json.stdout);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    let after = &plan["changes"][0]["actions"][0]["after"];
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "persist.sys.team",
            "ro.model",
            "sys.prop.writeimsi",
            "sys.prop.writephonenum"
        ],
        "the JSON says which keys change"
    );
    // A person at a terminal may look.
    pf(&["plan", &dir.spec(), "--show-sensitive"])
        .run()
        .code(0)
        .stdout_has(IMSI_NEW)
        .stdout_has(IMSI_OLD);
    // A saved plan holds no sensitive value (apply takes them from the spec); `show` masks too.
    pf(&["plan", &dir.spec(), "--out", &dir.path("plan.json")])
        .run()
        .code(0);
    refute(&dir.read("plan.json"));
    let shown = pf(&["show", &dir.path("plan.json")]).run();
    shown.code(0).stdout_has("(sensitive, new value)");
    refute(&shown.stdout);
    let applied = pf(&["apply", &dir.path("plan.json")]).run();
    applied.code(0).stdout_has("Apply: 1 ok");
    refute(&applied.stdout);
    refute(&applied.stderr);
    assert_eq!(
        sim.phones()["c1"]["properties"]["sys.prop.writeimsi"],
        IMSI_NEW
    );
}

#[test]
fn a_provider_echoing_a_sensitive_value_shows_it_masked() {
    let sim = Sim::start(&format!(
        "phones:
  - {{provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {{sys.prop.writeimsi: '{IMSI_OLD}'}}, job_fails: {{code: CPS.0003, message: 'cannot write imsi {IMSI_NEW} over {IMSI_OLD}'}}}}
"
    ));
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: c1, provider: cph, properties: {{sys.prop.writeimsi: '{IMSI_NEW}'}}}}\n",
        providers(&sim.url())
    ));
    for json in [false, true] {
        let mut cmd = pf(&["apply", &dir.spec(), "--auto-approve"]);
        if json {
            cmd = cmd.arg("--json");
        }
        let out = cmd.run();
        out.code(1)
            .stdout_has("cannot write imsi (sensitive) over (sensitive)");
        for v in [IMSI_OLD, IMSI_NEW] {
            assert!(
                !out.stdout.contains(v) && !out.stderr.contains(v),
                "{out:?}"
            );
        }
        if json {
            // The report names the keys the change was about, never their values.
            let report: Value = out.json();
            assert_eq!(
                report["results"][0]["keys"],
                serde_json::json!(["sys.prop.writeimsi"])
            );
        }
    }
}

fn stop_fixture(ids: &[&str]) -> String {
    let mut f = String::from("phones:\n");
    for id in ids {
        f.push_str(&format!(
            "  - {{provider: geelark, id: {id}, status: running}}\n"
        ));
    }
    f
}

#[test]
fn a_protected_phone_is_never_stopped_and_nothing_overrides_it() {
    let sim = Sim::start(&stop_fixture(&["g1", "g2", "g3", "g4"]));
    let spec = format!(
        "{}phones:
  - {{id: g1, provider: gl, state: stopped, protect: true}}
  - {{id: g2, provider: gl, state: stopped}}
groups:
  - {{provider: gl, ids: [g3, g4], state: stopped, protect: true}}
",
        providers(&sim.url())
    );
    let dir = Dir::with_spec(&spec);
    // Declaring a protected phone stopped is fine offline: the guard acts against the live state.
    pf(&["validate", &dir.spec()]).run().code(0);
    let plan_file = dir.path("plan.json");
    let out = pf(&[
        "plan",
        &dir.spec(),
        "--out",
        &plan_file,
        "--detailed-exitcode",
    ])
    .run();
    out.code(1)
        .stdout_has("BROKEN protect at gl: the spec would stop 3 protected phones (g1, g3, g4)")
        .stderr_has("error: protect at gl: the spec would stop 3 protected phones (g1, g3, g4)")
        .stderr_has("only editing the spec allows it")
        .stderr_has("no plan was saved");
    assert!(!std::path::Path::new(&plan_file).exists());
    for extra in [&[][..], &["--override-guards"][..]] {
        let out = pf(&["apply", &dir.spec(), "--auto-approve"])
            .args(extra)
            .run();
        out.code(1)
            .stderr_has(
                "refusing to apply: the plan would stop protected phones; nothing was applied",
            )
            .stderr_has("g1, g3, g4");
    }
    assert_eq!(sim.mutating_calls(), 0);
    // Starting a protected phone, or stopping an unprotected one, is fine.
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running, protect: true}}\n  - {{id: g2, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    pf(&["apply", &dir.spec(), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Apply: 1 ok");
    assert_eq!(sim.phones()["g1"]["status"], 0, "still running");
}

/// The eight running GeeLark phones [`limited_spec`] declares.
fn eight_running() -> Sim {
    Sim::start(&stop_fixture(&[
        "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8",
    ]))
}

fn limited_spec(url: &str, safety: &str) -> String {
    format!(
        "{}safety:\n{safety}groups:\n  - {{provider: gl, ids: [g1, g2, g3], state: stopped}}\n  - {{provider: gl, ids: [g4, g5, g6, g7, g8], state: running}}\n",
        providers(url)
    )
}

#[test]
fn blast_radius_guards_show_first_and_refuse_apply_unless_overridden() {
    let sim = eight_running();
    let dir = Dir::with_spec(&limited_spec(
        &sim.url(),
        "  max_changes: 2\n  max_stop_percent: 25\n",
    ));
    let out = pf(&["plan", &dir.spec(), "--detailed-exitcode"]).run();
    out.code(2)
        .stderr_has("warning: the plan breaks a guard: max_changes: 3 phones change, limit 2")
        .stderr_has("apply will refuse it unless --override-guards is given");
    let text = &out.stdout;
    let guards = text
        .find("Guards (apply refuses a plan that breaks one):")
        .unwrap();
    assert!(guards < text.find("To stop").unwrap(), "{text}");
    assert!(
        text.contains(
            "  BROKEN max_stop_percent at gl: 38% (3 of 8 declared phones stop), limit 25%"
        ),
        "{text}"
    );
    let json: Value = pf(&["plan", &dir.spec(), "--json"]).run().code(0).json();
    assert_eq!(
        json["guards"],
        serde_json::json!([
            {"guard": "max_changes", "provider": null, "limit": 2, "planned": 3, "broken": true, "overridable": true},
            {"guard": "max_stop_percent", "provider": "gl", "limit": 25, "planned": 38, "broken": true,
             "overridable": true, "stops": 3, "declared": 8},
        ])
    );
    pf(&["plan", &dir.spec(), "--markdown"])
        .run()
        .code(0)
        .stdout_has("- **BROKEN** max\\_changes: 3 phones change, limit 2");
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    out.code(1)
        .stderr_has("refusing to apply: the plan breaks 2 guards of the spec's `safety`; nothing was applied")
        .stderr_has("apply again with --override-guards");
    assert_eq!(sim.mutating_calls(), 0);
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--override-guards",
        "--json",
    ])
    .run();
    out.code(0);
    let report: Value = out.json();
    assert_eq!(report["guards_overridden"][0]["guard"], "max_changes");
    assert_eq!(report["guards_overridden"][1]["planned"], 38);
    assert_eq!(report["summary"]["ok"], 3);
    // Within the limits, nothing is said and apply goes ahead.
    let sim = eight_running();
    let dir = Dir::with_spec(&limited_spec(
        &sim.url(),
        "  max_changes: 3\n  max_stop_percent: 38\n",
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve"]).run();
    out.code(0)
        .stdout_has("  ok     max_changes: 3 phones change, limit 3");
    assert!(!out.stderr.contains("guard"), "{}", out.stderr);
}

#[test]
fn a_saved_plan_records_the_verdict_and_apply_checks_it_again() {
    let sim = eight_running();
    let dir = Dir::with_spec(&limited_spec(&sim.url(), "  max_changes: 2\n"));
    let plan_file = dir.path("plan.json");
    pf(&["plan", &dir.spec(), "--out", &plan_file])
        .run()
        .code(0);
    let saved: Value = serde_json::from_str(&dir.read("plan.json")).unwrap();
    assert_eq!(saved["guards"][0]["guard"], "max_changes");
    // `show` renders the recorded verdict, as plan did.
    pf(&["show", &plan_file])
        .run()
        .code(0)
        .stdout_has("BROKEN max_changes: 3 phones change, limit 2");
    pf(&["apply", &plan_file])
        .run()
        .code(1)
        .stderr_has("refusing to apply: the plan breaks 1 guard");
    // A verdict edited to pass (and the file resealed) is caught.
    let mut forged = saved.clone();
    forged["guards"] = serde_json::json!([]);
    dir.write("forged.json", &crate::support::reseal(forged));
    pf(&["apply", &dir.path("forged.json"), "--override-guards"])
        .run()
        .code(1)
        .stderr_has("guard verdicts are not what its spec's guard rails make");
    assert_eq!(sim.mutating_calls(), 0);
    let out = pf(&["apply", &plan_file, "--override-guards"]).run();
    out.code(0).stdout_has(
        "Guards overridden (--override-guards):\n  max_changes: 3 phones change, limit 2",
    );
}

#[test]
fn a_canary_goes_first_alone_and_a_failed_one_stops_only_its_provider() {
    let mut fixture = String::from("phones:\n");
    for i in 0..4 {
        let fails = if i == 0 {
            ", job_fails: {code: CPS.0003, message: 'internal error'}"
        } else {
            ""
        };
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i}, project_id: p1, status: running, properties: {{k: old}}{fails}}}\n  - {{provider: geelark, id: g{i}, status: running}}\n"
        ));
    }
    let sim = Sim::with_transition(&fixture, 200);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, ids: [c0, c1, c2, c3], properties: {{k: new}}}}\n  - {{provider: gl, ids: [g0, g1, g2, g3], state: stopped}}\n",
        providers(&sim.url())
    ));
    let plan = pf(&["plan", &dir.spec(), "--canary", "1"]).run();
    plan.code(0)
        .stdout_has("Canary (--canary 1)")
        .stdout_has("  cph: c0\n")
        .stdout_has("  gl: g0\n")
        .stdout_has("4 API calls on 2 providers");
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--canary",
        "1",
        "--json",
    ])
    .run();
    out.code(1);
    let report: Report = out.json();
    let outcome = |id: &str| {
        let r = report.results.iter().find(|r| r.phone_id == id).unwrap();
        (
            r.outcome.clone(),
            r.error
                .as_ref()
                .map(|e| e.message.clone())
                .unwrap_or_default(),
        )
    };
    assert_eq!(outcome("c0").0, "failed");
    for id in ["c1", "c2", "c3"] {
        let (o, why) = outcome(id);
        assert_eq!(o, "skipped");
        assert!(why.starts_with("canary failed: c0 CPS.0003"), "{why}");
    }
    for id in ["g0", "g1", "g2", "g3"] {
        assert_eq!(outcome(id).0, "ok", "{id}");
    }
    let calls = sim.calls();
    // CPH: the canary's call alone, nothing after it failed.
    let cph: Vec<_> = calls
        .iter()
        .filter(|(_, ids)| ids.iter().any(|i| i.starts_with('c')))
        .collect();
    assert_eq!(cph.len(), 1, "{calls:?}");
    assert_eq!(cph[0].1, ["c0"]);
    // GeeLark: g0 alone, then the rest once g0 showed stopped.
    let gl: Vec<_> = calls
        .iter()
        .filter(|(_, ids)| ids.iter().any(|i| i.starts_with('g')))
        .collect();
    assert_eq!(gl.len(), 2, "{calls:?}");
    assert_eq!(gl[0].1, ["g0"]);
    assert_eq!(gl[1].1, ["g1", "g2", "g3"]);
    assert_eq!(sim.phones()["c1"]["properties"]["k"], "old");
    // A second apply without the failing job would go on; the canary is per run.
    let text = pf(&["apply", &dir.spec(), "--auto-approve", "--canary", "1"]).run();
    text.code(1).stdout_has("canary failed: c0 CPS.0003");
}

#[test]
fn a_saved_plan_applies_with_its_canary_or_the_one_given_to_apply() {
    for (plan_flag, apply_flag, first) in [
        (Some("2"), None, vec!["g0", "g1"]),
        (None, Some("1"), vec!["g0"]),
    ] {
        let sim = Sim::start(&stop_fixture(&["g0", "g1", "g2", "g3"]));
        let dir = Dir::with_spec(&format!(
            "{}groups:\n  - {{provider: gl, ids: [g0, g1, g2, g3], state: stopped}}\n",
            providers(&sim.url())
        ));
        let plan_file = dir.path("plan.json");
        let mut plan = pf(&["plan", &dir.spec(), "--out", &plan_file]);
        if let Some(n) = plan_flag {
            plan = plan.args(&["--canary", n]);
        }
        plan.run().code(0);
        let mut apply = pf(&["apply", &plan_file]);
        if let Some(n) = apply_flag {
            apply = apply.args(&["--canary", n]);
        }
        apply
            .run()
            .code(0)
            .stderr_has("Canary first")
            .stdout_has("Apply: 4 ok");
        let log = sim.log();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0].ids, first);
    }
}

/// SIGTERM while the canary's jobs run: nothing more is sent, the rest is reported interrupted (not as a
/// failed canary), and the run exits 143.
#[test]
fn a_signal_during_the_canary_stops_the_rest_as_interrupted() {
    let mut fixture = String::from("phones:\n");
    for i in 0..4 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i}, project_id: p1, status: running}}\n"
        ));
    }
    let sim = Sim::with_transition(&fixture, 3000);
    let dir = Dir::with_spec(&format!(
        "{}groups:\n  - {{provider: cph, ids: [c0, c1, c2, c3], state: stopped}}\n",
        providers(&sim.url())
    ));
    let cmd = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--canary",
        "1",
        "--json",
    ]);
    let out = crate::support::signal_when(
        cmd,
        "Canary first",
        Duration::from_millis(500),
        libc::SIGTERM,
    );
    assert_eq!(out.code, 143, "{}", out.stderr);
    let report: Report = serde_json::from_str(&out.stdout).unwrap();
    for r in report.results.iter().filter(|r| r.phone_id != "c0") {
        assert_eq!(r.outcome, "skipped");
        let why = &r.error.as_ref().unwrap().message;
        assert!(why.starts_with("interrupted"), "{why}");
    }
    assert_eq!(sim.calls().len(), 1, "only the canary's call was sent");
}
