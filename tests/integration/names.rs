//! Operators speak in names, files and labels: names in every output, every selector form (and its
//! errors) on plan, apply, status and export, labels in the schema and in JSON, and `status`.

use serde_json::Value;

use crate::support::{Dir, Sim, pf, providers};

const FIXTURE: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, traffic: direct}
  - {provider: geelark, id: g1, status: running, busy: remote}
  - {provider: geelark, id: g2, status: running}
  - {provider: geelark, id: g3, status: stopped}
  - {provider: geelark, id: g4, status: running}
";

/// Three teams in a spec directory: checkout (CPH, a protected payments phone), growth (GeeLark) and
/// night (a GeeLark group).
fn fleet(url: &str) -> Dir {
    let dir = Dir::with_spec("version: 1\n");
    std::fs::remove_file(dir.spec()).unwrap();
    std::fs::create_dir(dir.path("fleet")).unwrap();
    dir.write("fleet/00-providers.yaml", &providers(url));
    dir.write(
        "fleet/checkout.yaml",
        "version: 1
phones:
  - {id: c1, provider: cph, name: PROD-PAYMENTS-PRIMARY, state: running, traffic: routing, labels: {team: checkout, tier: prod}}
  - {id: c2, provider: cph, name: store12-a, state: running, traffic: routing, labels: {team: checkout}}
",
    );
    dir.write(
        "fleet/growth.yaml",
        "version: 1
phones:
  - {id: g1, provider: gl, name: growth-01, state: stopped, labels: {team: growth}}
  - {id: g2, provider: gl, name: growth-02, state: stopped, labels: {team: growth}}
groups:
  - {provider: gl, ids: [g3, g4], state: running, labels: {team: night}}
",
    );
    dir
}

#[test]
fn names_appear_wherever_a_phone_is_shown() {
    let sim = Sim::start(FIXTURE);
    let dir = fleet(&sim.url());
    let spec = dir.path("fleet");
    // Text: a folded block lists `name (id)`; the legend says what `-` means.
    let text = pf(&["plan", &spec]).run();
    text.code(0)
        .stdout_has("Symbols: - stop (power off; nothing is deleted), + start, ~ change in place.")
        .stdout_has("- gl / 2 phones: stop\n  phones: growth-01 (g1), growth-02 (g2)\n")
        .stdout_has(
            "~ cph / 2 phones: set_traffic\n  phones: PROD-PAYMENTS-PRIMARY (c1), store12-a (c2)\n",
        );
    // Markdown: the stops above everything, by name; names in the diff block.
    let md = pf(&["plan", &spec, "--markdown"]).run();
    md.code(0)
        .stdout_has(
            "> [!WARNING]\n> This plan **stops 2 phones**: 2 in team=growth (growth-01, growth-02)",
        )
        .stdout_has("# phones: PROD-PAYMENTS-PRIMARY (c1), store12-a (c2)")
        .stdout_has("1 phone already matches the spec.");
    let md = &md.stdout;
    assert!(
        md.find("# gl / 2 phones: stop").unwrap() < md.find("# cph / 2 phones").unwrap(),
        "stops first: {md}"
    );
    // JSON: name and labels beside the id.
    let json: Value = pf(&["plan", &spec, "--json"]).run().code(0).json();
    let c1 = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["phone_id"] == "c1")
        .unwrap();
    assert_eq!(c1["name"], "PROD-PAYMENTS-PRIMARY");
    assert_eq!(
        c1["labels"],
        serde_json::json!({"team": "checkout", "tier": "prod"})
    );
    // Apply: the failed phone (someone is connected to g1) is named, in text and JSON.
    let apply = pf(&["apply", &spec, "--auto-approve"]).run();
    apply
        .code(1)
        .stdout_has("x gl / growth-01 (g1): stop: 43006");
    let json: Value = pf(&["apply", &spec, "--auto-approve", "--json"])
        .run()
        .code(1)
        .json();
    let failed = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "failed")
        .unwrap();
    assert_eq!(
        (&failed["phone_id"], &failed["name"]),
        (&Value::from("g1"), &Value::from("growth-01"))
    );
}

#[test]
fn the_protect_guard_names_the_phone() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: c1, provider: cph, name: PROD-PAYMENTS-PRIMARY, state: stopped, protect: true}}\n",
        providers(&sim.url())
    ));
    pf(&["plan", &dir.spec()]).run().code(1).stdout_has(
        "BROKEN protect at cph: the spec would stop 1 protected phone (PROD-PAYMENTS-PRIMARY (c1))",
    );
}

#[test]
fn every_selector_form_narrows_plan_status_and_export() {
    let sim = Sim::start(FIXTURE);
    let dir = fleet(&sim.url());
    let spec = dir.path("fleet");
    let ids = |args: &[&str]| -> Vec<String> {
        let mut cmd = pf(&["status", &spec, "--json"]);
        cmd = cmd.args(args);
        let json: Value = cmd.run().code(0).json();
        json["phones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["phone_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&["--target", "g2"]), ["g2"]);
    assert_eq!(ids(&["--target", "cph"]), ["c1", "c2"]);
    assert_eq!(ids(&["--target", "store12-a"]), ["c2"]);
    assert_eq!(ids(&["--target", "growth-0*"]), ["g1", "g2"]);
    assert_eq!(ids(&["--target", "team=night"]), ["g3", "g4"]);
    assert_eq!(
        ids(&["--target", "team=checkout", "--exclude", "tier=prod"]),
        ["c2"]
    );
    assert_eq!(
        ids(&["--target", "team!=growth", "--exclude", "cph"]),
        ["g3", "g4"]
    );
    assert_eq!(ids(&["--target", "growth.yaml"]), ["g1", "g2", "g3", "g4"]);
    assert_eq!(
        ids(&["--target", "fleet/checkout.yaml", "--target", "g4"]),
        ["c1", "c2", "g4"]
    );
    // Errors: nothing selected, with a hint.
    pf(&["plan", &spec, "--target", "checkout-store00-00"])
        .run()
        .code(1)
        .stderr_has(
            "`--target checkout-store00-00` names no phone id, phone name or provider of the spec",
        )
        .stderr_has("a glob such as `growth-*`");
    pf(&["plan", &spec, "--target", "growth-1"])
        .run()
        .code(1)
        .stderr_has("did you mean `growth-01`?");
    pf(&["status", &spec, "--target", "team=growht"])
        .run()
        .code(1)
        .stderr_has("`team` takes the values checkout, growth, night; did you mean `growth`?");
    pf(&["plan", &spec, "--target", "team-b.yaml"])
        .run()
        .code(1)
        .stderr_has("no phone is declared in a file named so");
    pf(&["apply", &spec, "--exclude", "nobody-*", "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("`--exclude nobody-*` selects no phone");
    assert_eq!(sim.mutating_calls(), 0);
    // A saved plan records its selectors; show and apply say them.
    let file = dir.path("plan.json");
    pf(&[
        "plan",
        &spec,
        "--target",
        "team=night",
        "--exclude",
        "g4",
        "--out",
        &file,
    ])
    .run()
    .code(0)
    .stderr_has("--target team=night --exclude g4 is in effect");
    let saved: Value = serde_json::from_str(&dir.read("plan.json")).unwrap();
    assert_eq!(
        saved["selectors"],
        serde_json::json!(["--target team=night", "--exclude g4"])
    );
    pf(&["show", &file])
        .run()
        .code(0)
        .stderr_has("Selected with --target team=night --exclude g4");
    pf(&["apply", &file])
        .run()
        .code(0)
        .stderr_has("The plan was made with --target team=night --exclude g4");
    // Export: names and globs over what the accounts list; labels over what the spec declares.
    let out = pf(&[
        "export",
        &spec,
        "--phones-only",
        "--target",
        "team=growth",
        "--target",
        "c2",
    ])
    .run();
    out.code(0);
    for want in ["\"g1\"", "\"g2\"", "\"c2\""] {
        assert!(out.stdout.contains(want), "{want}: {}", out.stdout);
    }
    for unwanted in ["\"g3\"", "\"c1\""] {
        assert!(!out.stdout.contains(unwanted), "{unwanted}: {}", out.stdout);
    }
    pf(&["export", &spec, "--exclude", "phone-zz*"])
        .run()
        .code(1)
        .stderr_has("`--exclude phone-zz*` selects no phone the provider accounts list");
}

#[test]
fn status_shows_every_selected_phone_live_beside_its_declaration() {
    let sim = Sim::start(FIXTURE);
    let dir = fleet(&sim.url());
    let spec = dir.path("fleet");
    let out = pf(&["status", &spec]).run();
    out.code(0)
        .stdout_has("PROVIDER  NAME")
        .stdout_has("gl        growth-02              g2  running  -       stopped           drifted: to stop\n")
        .stdout_has("gl        -                      g3  stopped  -       running           drifted: to start\n")
        .stdout_has("gl        -                      g4  running  -       running           in sync\n")
        .stdout_has("cph       store12-a              c2  running  direct  running, routing  drifted: to re-route\n")
        .stdout_has("cph: 2 phones (2 running, 0 stopped): 0 in sync, 2 drifted.")
        .stdout_has("gl: 4 phones (3 running, 1 stopped): 1 in sync, 3 drifted.");
    assert_eq!(sim.mutating_calls(), 0, "status changes nothing");
    // The same batched reads as plan: one status call for GeeLark, one list page for CPH.
    let stats = sim.stats();
    assert_eq!(
        stats.get("POST /open/v1/phone/status"),
        Some(&1),
        "{stats:?}"
    );
    let json: Value = pf(&["status", &spec, "--json", "--target", "g4"])
        .run()
        .code(0)
        .json();
    assert_eq!(json["format_version"], 1);
    assert_eq!(
        json["phones"][0],
        serde_json::json!({
            "provider": "gl", "phone_id": "g4", "name": null, "power": "running",
            "declared_state": "running", "sync": "in_sync"
        })
    );
    assert_eq!(json["providers"]["gl"]["in_sync"], 1);
}

#[test]
fn labels_are_checked_by_the_schema_where_they_stand() {
    let dir = Dir::with_spec(
        "version: 1
providers:
  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}
phones:
  - {id: g1, provider: gl, labels: {team: growth}}
  - {id: g2, provider: gl, labels: {\"team=x\": growth}}
  - {id: g3, provider: gl, labels: {team: \"a b\"}}
",
    );
    let out = pf(&["validate", &dir.spec()]).run();
    out.code(1);
    assert!(out.stderr.contains("spec.yaml:6:"), "{}", out.stderr);
    assert!(out.stderr.contains("spec.yaml:7:"), "{}", out.stderr);
    let schema: Value =
        serde_json::from_str(include_str!("../../schemas/fleet.schema.json")).unwrap();
    assert!(schema.to_string().contains("\"labels\""));
}

/// `safety.max_stop_percent_by_label`: per value of a label, a share of its declared phones that may
/// stop in one apply; a key no phone has is a validation error.
#[test]
fn a_stop_guard_per_label_value() {
    let sim = Sim::start(FIXTURE);
    let dir = fleet(&sim.url());
    dir.write(
        "fleet/safety.yaml",
        "version: 1\nsafety:\n  max_stop_percent_by_label: {team: 40}\n",
    );
    let spec = dir.path("fleet");
    pf(&["plan", &spec])
        .run()
        .code(0)
        .stdout_has("BROKEN max_stop_percent for team=growth: 100% (2 of 2 declared phones stop), limit 40%")
        .stdout_has("ok     max_stop_percent for team=checkout: 0% (0 of 2 declared phones stop), limit 40%");
    pf(&["plan", &spec, "--markdown"])
        .run()
        .code(0)
        .stdout_has("- ok, nothing planned against: max\\_stop\\_percent for team=checkout, max\\_stop\\_percent for team=night");
    let json: Value = pf(&["plan", &spec, "--json"]).run().code(0).json();
    let broken: Vec<&Value> = json["guards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["broken"] == true)
        .collect();
    assert_eq!(broken.len(), 1, "{json}");
    assert_eq!(broken[0]["label"], "team=growth");
    pf(&["apply", &spec, "--auto-approve"])
        .run()
        .code(1)
        .stderr_has("max_stop_percent for team=growth");
    assert_eq!(sim.mutating_calls(), 0);
    dir.write(
        "fleet/safety.yaml",
        "version: 1\nsafety:\n  max_stop_percent_by_label: {taem: 40}\n",
    );
    pf(&["validate", &spec])
        .run()
        .code(1)
        .stderr_has("no phone or group has the label `taem`");
}
