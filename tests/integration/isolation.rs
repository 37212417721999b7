//! Failure isolation and bounded time, tried as an operator of a large fleet on a bad day would: one
//! unreadable phone, one provider down, a count that fails, a hung provider, SIGTERM, a report that
//! cannot be written, and provider answers that lie.

use std::collections::BTreeMap;
use std::time::Duration;

use phonefleet::simulator::SimConfig;
use serde::Deserialize;
use serde_json::json;

use crate::apply::{Report, ResultJson};
use crate::support::fake::{Fake, Reply};
use crate::support::{Dir, Sim, one_provider, pf, providers};

#[derive(Debug, Deserialize)]
struct PlanJson {
    changes: Vec<Change>,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct Change {
    provider: String,
    phone_id: String,
    actions: Vec<serde_json::Value>,
    blocked: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    unreadable: usize,
    unmanaged: BTreeMap<String, Option<usize>>,
    #[serde(default)]
    unmanaged_unknown: BTreeMap<String, String>,
}

/// Generous bound for runs that must end by their own `--timeout` of a few seconds.
const WITHIN: Duration = Duration::from_secs(60);

#[test]
fn a_count_that_fails_only_warns() {
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: koophone, id: k1, status: running}
";
    let sim = Sim::with(
        fixture,
        SimConfig {
            refuse_listing: true,
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n  - {{id: k1, provider: kp, state: running}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["plan", &dir.spec(), "--json"]).run();
    out.code(0)
        .stderr_has("warning: could not count the phones of provider `gl`")
        .stderr_has("40015")
        .stderr_has("warning: could not count the phones of provider `kp`")
        .stderr_has("KOOPHONE.API.1001");
    let plan: PlanJson = out.json();
    assert_eq!(plan.changes.len(), 1, "the plan is made: {plan:?}");
    assert_eq!(
        plan.summary.unmanaged.get("gl"),
        Some(&None),
        "count unknown"
    );
    assert!(plan.summary.unmanaged_unknown["kp"].contains("KOOPHONE.API.1001"));
    pf(&["plan", &dir.spec(), "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has("could not be counted");
}

#[test]
fn an_unreadable_phone_blocks_itself_and_every_other_phone_is_planned_and_applied() {
    // c2's detail reads fail however often they are tried; k2 answers KOOPHONE.API.1001 (no permission
    // on this instance, HTTP 401), which once stopped all KooPhone work with a token hint.
    let fixture = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {k: old}}
  - {provider: huawei-cph, id: c2, project_id: p1, status: running, properties: {k: old}, unreadable: true}
  - {provider: huawei-cph, id: c3, project_id: p1, status: running}
  - {provider: geelark, id: g1, status: running}
  - {provider: koophone, id: k1, status: running}
  - {provider: koophone, id: k2, status: running, unreadable: true}
";
    let sim = Sim::with(
        fixture,
        SimConfig {
            transition: Duration::from_millis(100),
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:
  - {{id: c1, provider: cph, properties: {{k: new}}}}
  - {{id: c2, provider: cph, properties: {{k: new}}}}
  - {{id: c3, provider: cph, state: stopped}}
  - {{id: g1, provider: gl, state: stopped}}
  - {{id: k1, provider: kp, state: running}}
  - {{id: k2, provider: kp, state: running}}
",
        providers(&sim.url())
    ));
    // c2's reads are retried until the deadline: a short one keeps the test quick.
    for flags in [
        &["--json", "--timeout", "3"][..],
        &["--json", "--timeout", "3", "--detailed-exitcode"][..],
    ] {
        let out = pf(&["plan", &dir.spec()]).args(flags).run();
        out.code(1)
            .stderr_has("2 phones could not be read")
            .no_panic();
        let plan: PlanJson = out.json();
        assert_eq!(plan.summary.unreadable, 2);
        let blocked: BTreeMap<&str, &str> = plan
            .changes
            .iter()
            .filter_map(|c| c.blocked.as_deref().map(|b| (c.phone_id.as_str(), b)))
            .collect();
        assert!(blocked["c2"].starts_with("could not read: "), "{blocked:?}");
        assert!(blocked["c2"].contains("HTTP 500"), "{blocked:?}");
        assert!(blocked["k2"].contains("KOOPHONE.API.1001"), "{blocked:?}");
        assert!(!blocked.contains_key("k1"), "k1 was read: {blocked:?}");
        let planned: Vec<&str> = plan
            .changes
            .iter()
            .filter(|c| !c.actions.is_empty())
            .map(|c| c.phone_id.as_str())
            .collect();
        assert_eq!(planned, ["c1", "c3", "g1"], "{:?}", plan.changes);
    }
    // A 15 s run: c2's reads get a third of it (5 s) to keep failing, and the changes the rest.
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--json",
        "--timeout",
        "15",
    ])
    .run();
    out.code(1).no_panic();
    let report: Report = out.json();
    let by_phone: BTreeMap<&str, &ResultJson> = report
        .results
        .iter()
        .map(|r| (r.phone_id.as_str(), r))
        .collect();
    for ok in ["c1", "c3", "g1"] {
        assert_eq!(by_phone[ok].outcome, "ok", "{report:?}");
    }
    for bad in ["c2", "k2"] {
        assert_eq!(by_phone[bad].outcome, "failed", "{report:?}");
        assert_eq!(by_phone[bad].error.as_ref().unwrap().code, "unreadable");
    }
    let phones = sim.phones();
    assert_eq!(phones["c3"]["meaning"], "stopped");
    assert_eq!(phones["c1"]["properties"]["k"], "new");
    assert_eq!(phones["c2"]["properties"]["k"], "old", "nothing sent to c2");
}

#[test]
fn a_provider_that_cannot_be_read_blocks_only_its_own_phones() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    // KooPhone at a port where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let spec = providers(&sim.url()).replacen(
        &format!("kind: koophone\n    endpoint: {}", sim.url()),
        &format!("kind: koophone\n    endpoint: {dead_url}"),
        1,
    );
    let dir = Dir::with_spec(&format!(
        "{spec}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n  - {{id: k1, provider: kp, state: running}}\n"
    ));
    let out = pf(&["plan", &dir.spec(), "--timeout", "3"]).run_within(WITHIN);
    out.code(1)
        .stdout_has("- gl / g1")
        .stdout_has("kp / k1: could not read: ")
        .stdout_has("could not connect")
        .stderr_has("1 phone could not be read");
    // A provider whose credentials are refused: its phones are blocked, the error and hint printed.
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    let fixture_auth = Sim::start(
        "phones:\n  - {provider: geelark, id: g1, status: running}\ncredentials: {geelark: {token: right-token-123}}\n",
    );
    let dir2 = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n",
        providers(&fixture_auth.url())
    ));
    pf(&["plan", &dir2.spec()])
        .run()
        .code(1)
        .stderr_has("error: provider `gl` could not be read, so none of its phones")
        .stderr_has("hint: check the credential variables");
    pf(&["plan", &dir.spec()]).run().code(0);
}

#[test]
fn a_hung_provider_ends_the_run_by_its_deadline() {
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
";
    let sim = Sim::with(
        fixture,
        SimConfig {
            hang_after: Some(0),
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n  - {{id: c1, provider: cph, state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["plan", &dir.spec(), "--timeout", "2"]).run_within(WITHIN);
    out.code(1)
        .stdout_has("gl / g1: could not read: ")
        .stdout_has("cph / c1: could not read: ")
        .stdout_has("timed out")
        .stderr_has("2 phones could not be read");
    pf(&["export", "--provider", "gl", &dir.spec(), "--timeout", "2"])
        .run_within(WITHIN)
        .code(1)
        .stderr_has("provider `gl`")
        .stderr_has("timed out: the run's deadline passed");
}

#[test]
fn after_the_deadline_no_batch_is_sent_and_the_rest_is_reported_skipped() {
    // One call in flight at a time, one phone a call (reads too): three status reads, g1's stop, then
    // g2's stop hangs until the deadline, and g3's stop, still waiting for its turn, is never sent.
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running}
  - {provider: geelark, id: g3, status: running}
";
    let sim = Sim::with(
        fixture,
        SimConfig {
            hang_after: Some(4),
            ..SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&crate::support::one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n  - {id: g2, provider: gl, state: stopped}\n  - {id: g3, provider: gl, state: stopped}\n",
    ));
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--json",
        "--timeout",
        "3",
        "--max-batch",
        "1",
        "--parallelism",
        "1",
    ])
    .run_within(WITHIN);
    out.code(1).no_panic();
    let report: Report = out.json();
    let g3 = report.results.iter().find(|r| r.phone_id == "g3").unwrap();
    assert_eq!(g3.outcome, "skipped", "{report:?}");
    assert!(
        g3.error
            .as_ref()
            .unwrap()
            .message
            .contains("deadline passed"),
        "{report:?}"
    );
    let g2 = report.results.iter().find(|r| r.phone_id == "g2").unwrap();
    assert_eq!(
        g2.error.as_ref().unwrap().code,
        "outcome-unknown",
        "{report:?}"
    );
    assert_eq!(
        sim.stats().get("POST /open/v1/phone/stop"),
        Some(&1),
        "only g1's stop was answered; g3's was never sent"
    );
    assert_eq!(sim.phones()["g3"]["meaning"], "started");
}

#[test]
fn a_report_that_cannot_be_written_to_stdout_goes_to_stderr() {
    let sim = Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    let out = pf(&["apply", &dir.spec(), "--auto-approve", "--json"])
        .stdout_to("/dev/full")
        .run();
    out.code(1)
        .no_panic()
        .stderr_has("error: cannot write the report to stdout")
        .stderr_has("\"outcome\": \"ok\"");
    assert_eq!(
        sim.phones()["g1"]["meaning"],
        "shut down",
        "the change was made"
    );
    // A closed pipe: the reader has gone before the report.
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
        providers(&sim.url())
    ));
    let mut child = pf(&["apply", &dir.spec(), "--auto-approve"]).spawn();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Apply: 1 ok"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A CPH account on a fake server: `phones` as listed (with a `count`), detail answers, and a stop whose
/// answer gives both phones one job id.
fn fake_cph(count: u64, property: &'static str) -> Fake {
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    Fake::start(move |req| {
        let status = if stopped.load(std::sync::atomic::Ordering::SeqCst) {
            8
        } else {
            2
        };
        let phone = |id: &str| json!({"phone_id": id, "status": status, "traffic_type": "direct"});
        let body = if req.path.contains("/batch-stop") {
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
            json!({"request_id": "R1", "jobs": [
                {"phone_id": "c1", "job_id": "J1"}, {"phone_id": "c2", "job_id": "J1"}]})
        } else if req.path.contains("/jobs") {
            json!({"count": 1, "jobs": [{"job_id": "J1", "phone_id": "c1", "request_id": "R1", "status": 2}]})
        } else if req.path.ends_with("/phones/c1") || req.path.ends_with("/phones/c2") {
            json!({"phone_id": "c1", "status": status, "traffic_type": "direct", "property": property})
        } else if req.path.contains("/phones/") {
            let body =
                json!({"error_code": "CPS.0005", "error_msg": "Parameter: Phone not found."});
            return Reply::Json(400, vec![], body.to_string());
        } else if req.path.contains("offset=0") {
            json!({"count": count, "phones": [phone("c1"), phone("c2")]})
        } else {
            json!({"count": count, "phones": []})
        };
        Reply::Json(200, vec![], body.to_string())
    })
}

#[test]
fn provider_answers_are_checked_not_trusted() {
    // A count of 10^15: paging stops at the first empty page, and nothing is sized from the number.
    let cph = fake_cph(1_000_000_000_000_000, "");
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &cph.url,
        "  - {id: c1, provider: cph, state: running}\n  - {id: c9, provider: cph, state: running}\n",
    ));
    pf(&["plan", &dir.spec()])
        .run_within(WITHIN)
        .code(0)
        .stdout_has("cph / c9: phone not found");
    pf(&["export", "--provider", "cph", &dir.spec()])
        .run_within(WITHIN)
        .code(0)
        .stdout_has("c2");
    // A GeeLark total of 10^12 pages no further than a short page.
    let gl = Fake::start(|_| {
        Reply::Json(
            200,
            vec![],
            json!({"code": 0, "msg": "ok", "data": {"total": 1_000_000_000_000u64,
                "items": [{"id": "g1", "status": 0}]}})
            .to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &gl.url,
        "  - {id: g1, provider: gl}\n",
    ));
    pf(&["export", "--provider", "gl", &dir.spec()])
        .run_within(WITHIN)
        .code(0)
        .stdout_has("g1");
    assert!(gl.requests().len() <= 2, "{}", gl.requests().len());
    // One id reported twice with different states: ambiguous, blocked.
    let twice = Fake::start(|_| {
        Reply::Json(
            200,
            vec![],
            json!({"code": 0, "msg": "ok", "data": {"successDetails": [
                {"id": "g1", "status": 0}, {"id": "g1", "status": 2}], "failDetails": []}})
            .to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &twice.url,
        "  - {id: g1, provider: gl, state: stopped}\n",
    ));
    pf(&["plan", &dir.spec(), "--target", "gl"])
        .run()
        .code(1)
        .stdout_has_text("could not read: ambiguous answer: the provider reported this phone twice, as status 0 and as status 2");
    // Two phones given one job id, whose answer names only c1: c1's success is not c2's; c2 is
    // reported at once, its outcome unknown, not waited on until the deadline.
    let cph = fake_cph(2, "");
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &cph.url,
        "  - {id: c1, provider: cph, state: stopped}\n  - {id: c2, provider: cph, state: stopped}\n",
    ));
    let out = pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--json",
        "--timeout",
        "20",
    ])
    .run_within(WITHIN);
    let report: Report = out.json();
    assert_eq!(report.results.len(), 2);
    assert_eq!(report.results[0].outcome, "ok", "{report:?}");
    assert_eq!(report.results[1].outcome, "failed", "{report:?}");
    let error = report.results[1].error.as_ref().unwrap();
    assert_eq!(error.code, "job-mismatch", "{report:?}");
    assert!(error.message.contains("answers for phone c1, not this one"));
    // An unparsable property string: that phone is unreadable, not "no properties".
    let cph = fake_cph(2, "not json");
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &cph.url,
        "  - {id: c1, provider: cph, properties: {k: v}}\n",
    ));
    pf(&["plan", &dir.spec(), "--target", "cph"])
        .run()
        .code(1)
        .stdout_has_text("could not read: the phone's `property` answer is not a JSON object");
}

#[test]
fn provider_error_codes_tell_a_phone_from_an_endpoint() {
    // CPH: a gateway 404 is a wrong endpoint, not missing phones.
    let gateway = Fake::start(|_| {
        Reply::Json(
            404,
            vec![],
            json!({"error_code": "APIGW.0101", "error_msg": "The API does not exist or has not been published"}).to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "huawei-cph",
        &gateway.url,
        "  - {id: c1, provider: cph, state: running}\n",
    ));
    pf(&["plan", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("provider `cph` could not be read")
        .stderr_has("the endpoint does not serve this API")
        .stderr_has("APIGW.0101")
        .stderr_has("hint: check `endpoint`");
    // KooPhone: 1012 (not in this tenant, HTTP 200) for one instance of a batch blocks that one only.
    let kp = Fake::start(|req| {
        let body = if req.body.contains("k2") {
            json!({"error_code": "KOOPHONE.API.1012", "error_msg": "instance k2 is not in this tenant"})
        } else {
            json!({"error_code": "0", "error_msg": "OK", "data": {"status_results": [{"instance_id": "k1", "status": 2}]}})
        };
        Reply::Json(200, vec![], body.to_string())
    });
    let dir = Dir::with_spec(&one_provider(
        "koophone",
        &kp.url,
        "  - {id: k1, provider: kp, state: running}\n  - {id: k2, provider: kp, state: running}\n",
    ));
    let out = pf(&["plan", &dir.spec(), "--target", "kp", "--json"]).run();
    out.code(1);
    let plan: PlanJson = out.json();
    assert_eq!(plan.changes.len(), 1, "{plan:?}");
    assert_eq!(plan.changes[0].phone_id, "k2");
    assert!(
        plan.changes[0]
            .blocked
            .as_deref()
            .unwrap()
            .contains("KOOPHONE.API.1012: instance k2 is not in this tenant")
    );
    assert_eq!(plan.changes[0].provider, "kp");
}

#[test]
fn sigterm_stops_new_batches_reports_and_exits_143() {
    crate::apply::interrupted_apply(libc::SIGTERM, 143);
}

#[test]
fn a_missing_permission_is_named_as_such_not_as_bad_credentials() {
    let gl = Fake::start(|_| {
        Reply::Json(
            200,
            vec![],
            json!({"code": 40015, "msg": "insufficient permissions", "data": null}).to_string(),
        )
    });
    let dir = Dir::with_spec(&one_provider(
        "geelark",
        &gl.url,
        "  - {id: g1, provider: gl, state: running}\n",
    ));
    let out = pf(&["plan", &dir.spec(), "--target", "gl"]).run();
    out.code(1)
        .no_panic()
        .stderr_has("the credentials lack permission for this API")
        .stderr_has("grant the account (or sub-account) permission");
    assert!(
        !out.stderr.contains("refused the credentials"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("IAM tokens"), "{}", out.stderr);
}
