//! `phonefleet simulate` as a command: its address first on stdout, a fixture or a fleet spec (file or
//! directory) to start from, fixture mistakes named in words, SIGTERM.

use std::io::BufRead;

use serde_json::Value;

use crate::support::{Dir, pf, providers};

/// Start `simulate` with these arguments; its base URL and the child.
fn start(args: &[&str]) -> (String, std::process::Child) {
    let mut child = pf(&["simulate", "--listen", "127.0.0.1:0"])
        .args(args)
        .spawn();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));
    (url, child)
}

fn stop(mut child: std::process::Child) {
    crate::support::signal(&child, libc::SIGTERM);
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn the_simulate_command_prints_its_address_first_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("f.yaml");
    std::fs::write(
        &fixture,
        "phones:\n  - {provider: huawei-cph, id: s1, project_id: p1, status: running}\n  - {provider: geelark, id: g1, status: 7}\n",
    )
    .unwrap();
    let (url, child) = start(&["--fixture", &fixture.display().to_string()]);
    let body: Value = blocking_get(&format!("{url}/_sim/phones"));
    assert_eq!(body.as_array().unwrap().len(), 2);
    stop(child);
}

#[test]
fn a_fleet_spec_is_a_fixture_seeded_as_simulate_seeds_it() {
    // The spec a team keeps, as it is: its endpoints are not the simulator's.
    let spec = "version: 1
providers:
  cph:
    kind: huawei-cph
    region: cn-east-3
    project_id: p1
  gl:
    kind: geelark
phones:
  - {id: c1, provider: cph, state: running, traffic: routing, properties: {com.cph.mainkeys: 1}}
  - {id: c2, provider: cph, state: stopped}
groups:
  - {provider: gl, ids: [g1, g2, g3], state: running}
";
    let dir = Dir::with_spec(spec);
    for fixture in [dir.spec(), dir.dir.path().display().to_string()] {
        let (url, child) = start(&["--fixture", &fixture]);
        let phones: Value = blocking_get(&format!("{url}/_sim/phones"));
        let ids: Vec<&str> = phones
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 5, "{phones}");
        for id in ["c1", "c2", "g1", "g2", "g3"] {
            assert!(ids.contains(&id), "{id} in {phones}");
        }
        // The same spec pointed at it plans the seeded drift, as --simulate's first plan does.
        let pointed = Dir::with_spec(&format!(
            "{}phones:\n  - {{id: c1, provider: cph, state: running, traffic: routing, properties: {{com.cph.mainkeys: 1}}}}\n  - {{id: c2, provider: cph, state: stopped}}\ngroups:\n  - {{provider: gl, ids: [g1, g2, g3], state: running}}\n",
            providers(&url)
        ));
        let plan = pf(&["plan", &pointed.spec(), "--detailed-exitcode"]).run();
        plan.code(2).stdout_has(
            "Plan: 2 phones, 3 changes: 0 to stop, 2 to start, 0 to re-route, 1 to update properties; 0 blocked.",
        );
        stop(child);
    }
}

#[test]
fn fixture_mistakes_are_named_with_the_allowed_values_in_words() {
    let dir = Dir::with_spec("version: 1\nproviders:\n  gl: {kind: gelark}\n");
    for (text, says) in [
        (
            "phones:\n  - {provider: geelark, id: g1, status: runing}\n",
            "phones[0].status: status `runing` is not one of `running`, `stopped`, or a provider's raw status code",
        ),
        (
            "phones:\n  - {provider: gelark, id: g1, status: running}\n",
            "phones[0].provider: unknown variant `gelark`, expected one of `huawei-cph`, `geelark`, `koophone`",
        ),
    ] {
        let f = dir.write("f.yaml", text);
        pf(&["simulate", "--fixture", &f])
            .run()
            .code(1)
            .stderr_has(says);
    }
    // A spec with a mistake is reported as validate reports it.
    pf(&["simulate", "--fixture", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("providers.gl.kind: \"gelark\" is not one of");
}

/// A GET from a test thread with no runtime of its own.
fn blocking_get(url: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() })
}
