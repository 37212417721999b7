//! A bad day and the way forward (issue: "every interrupted or partial apply has a way forward"):
//! phones in transition, interrupted and partial applies, saved plans finished after the fact, counts
//! that stay true.

use serde_json::Value;

use crate::support::{Dir, Sim, pf, providers};

#[test]
fn a_phone_in_transition_is_drift_only_when_something_is_to_change() {
    let sim = Sim::start(
        "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: 4, traffic: direct}
  - {provider: huawei-cph, id: c2, project_id: p1, status: 7, traffic: direct}
  - {provider: huawei-cph, id: c3, project_id: p1, status: 1, traffic: direct}
  - {provider: huawei-cph, id: c4, project_id: p1, status: 4, traffic: routing}
  - {provider: geelark, id: g1, status: 1}
",
    );
    let converging = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, state: running, traffic: direct}}
  - {{id: c4, provider: cph, traffic: routing}}
  - {{id: g1, provider: gl, state: running}}
",
        providers(&sim.url())
    ));
    // Restarting towards running, a matching route, starting towards running: not drift.
    let out = pf(&["plan", &converging.spec(), "--detailed-exitcode"]).run();
    out.code(0)
        .stdout_has("No changes. The fleet matches the spec.")
        .stdout_has("Converging (2 phones on their way to the declared state")
        .stdout_has("cph / c1: status 4 (restarting), on its way to running")
        .stdout_has("gl / g1: status 1 (starting), on its way to running")
        .stdout_has("1 phone already matches the spec");
    let json: Value = pf(&["plan", &converging.spec(), "--json"]).run().json();
    assert_eq!(json["summary"]["converging"].as_array().unwrap().len(), 2);
    assert_eq!(json["summary"]["blocked"], 0);
    // Stopping while declared running, and creating with a route to change: drift, blocked.
    let drift = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c2, provider: cph, state: running}}
  - {{id: c3, provider: cph, traffic: routing}}
",
        providers(&sim.url())
    ));
    pf(&["plan", &drift.spec(), "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("status 7 (stopping): wait for it to settle and plan again")
        .stdout_has("status 1 (creating): wait for it to settle and plan again");
}
