//! `phonefleet watch`: the real binary against the simulator with one-second ticks. Phones are
//! changed behind its back through the providers' own routes; a webhook server on loopback receives
//! the digests; `/metrics` and `/healthz` are read over HTTP (and `/metrics` checked with `promtool`
//! when it is installed; CI sets `PHONEFLEET_PROMTOOL` so that it must be).

use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::simulator::{GL, call};
use crate::support::fake::{Fake, Reply};
use crate::support::{Cmd, Dir, Out, Sim, pf, signal, token_of};

/// A running `watch`, its stderr collected line by line.
struct Watching {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    addr: String,
}

impl Watching {
    fn start(cmd: Cmd) -> Watching {
        let mut child = cmd.spawn();
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for l in std::io::BufReader::new(stderr).lines() {
                    let Ok(l) = l else { break };
                    lines.lock().unwrap().push(l);
                }
            })
        };
        let mut w = Watching {
            child,
            lines,
            reader: Some(reader),
            addr: String::new(),
        };
        let first = w.wait_for("metrics on http://");
        w.addr = first
            .split("metrics on http://")
            .nth(1)
            .unwrap()
            .trim_end_matches("/metrics")
            .to_owned();
        w
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first line holding `pat`, waiting up to 30 s for it.
    fn wait_for(&self, pat: &str) -> String {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(l) = self.lines.lock().unwrap().iter().find(|l| l.contains(pat)) {
                return l.clone();
            }
            assert!(
                Instant::now() < until,
                "no line with {pat:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many lines hold `pat`.
    fn count(&self, pat: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(pat))
            .count()
    }

    /// GET `path` of the metrics server: (status, body).
    fn get(&self, path: &str) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        // A server that does not answer fails the test instead of hanging it.
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {}\r\n\r\n", self.addr).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    }

    fn stop(mut self, sig: i32) -> Out {
        signal(&self.child, sig);
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        Out {
            code: status.code().unwrap_or(-1),
            stdout: String::new(),
            stderr: self.log(),
        }
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stop a GeeLark phone through GeeLark's own route, as a person at the console would.
fn stop_behind_its_back(sim: &Sim, ids: &[&str]) {
    let r = call(
        sim,
        "POST",
        "/open/v1/phone/stop",
        GL,
        Some(json!({ "ids": ids })),
    );
    assert_eq!(r.body["code"], 0, "{}", r.body);
}

fn status_of(sim: &Sim, id: &str) -> i64 {
    sim.phones()[id]["status"].as_i64().unwrap()
}

/// A webhook receiver on loopback that records every body.
fn webhook() -> Fake {
    Fake::start(|_| Reply::Json(200, vec![], "{}".into()))
}

/// The digests a webhook received.
fn digests(hook: &Fake) -> Vec<Value> {
    hook.requests()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect()
}

fn spec(url: &str, heal: &str, extra: &str) -> String {
    format!(
        "version: 1
providers:
  gl: {{kind: geelark, endpoint: {url}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}}}
  cph: {{kind: huawei-cph, project_id: p1, endpoint: {url}, credentials: {{token_env: PHONEFLEET_CPH_TOKEN}}}}
phones:
  - {{id: g1, provider: gl, name: growth-1, state: running}}
  - {{id: g2, provider: gl, name: growth-2, state: running}}
  - {{id: c1, provider: cph, name: store-1, state: running, traffic: routing}}
watch:
  heal: [{heal}]
  notify:
    - {{url_env: PHONEFLEET_WEBHOOK_URL}}
    - {{url_env: PHONEFLEET_SLACK_URL, format: slack}}
{extra}"
    )
}

const FIXTURE: &str = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: running}
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct}
";

fn watch(dir: &Dir, hook: &Fake, slack: &Fake) -> Cmd {
    pf(&[
        "watch",
        &dir.spec(),
        "--interval",
        "1",
        "--listen",
        "127.0.0.1:0",
    ])
    .env(
        "PHONEFLEET_WEBHOOK_URL",
        &format!("{}/hooks/phonefleet", hook.url),
    )
    .env(
        "PHONEFLEET_SLACK_URL",
        &format!("{}/services/T0/B0/secret", slack.url),
    )
}

#[test]
fn watch_heals_what_it_may_reports_the_rest_once_and_stops_on_sigterm() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&spec(&sim.url(), "start", ""));
    let w = Watching::start(watch(&dir, &hook, &slack));
    w.wait_for("tick 1 ok: 3 phones, 1 drifted (1 new)");
    // A phone stopped behind watch's back is started again; the re-route it may not heal is reported
    // once, never acted on.
    stop_behind_its_back(&sim, &["g1"]);
    w.wait_for("healed gl / growth-1 (g1): start");
    assert_eq!(status_of(&sim, "g1"), 0, "running again");
    w.wait_for("tick 5 ");
    assert_eq!(
        w.count("drifted cph / store-1 (c1): traffic: direct -> routing"),
        1,
        "{}",
        w.log()
    );
    assert_eq!(
        sim.phones()["c1"]["traffic"],
        "direct",
        "set_traffic is not in watch.heal"
    );
    // The metrics and the health check.
    let (code, body) = w.get("/healthz");
    assert_eq!(code, 200, "{body}");
    let (code, metrics) = w.get("/metrics");
    assert_eq!(code, 200);
    for want in [
        "phonefleet_phones{provider=\"gl\",state=\"running\"} 2",
        "phonefleet_drift_phones{provider=\"cph\"} 1",
        "phonefleet_heals_total{provider=\"gl\",action=\"start\",outcome=\"ok\"} 1",
        "phonefleet_ticks_total{result=\"ok\"}",
        "phonefleet_tick_duration_seconds_bucket",
        "phonefleet_last_tick_timestamp_seconds",
        "phonefleet_api_calls_total{provider=\"gl\",status=\"200\"}",
        "phonefleet_spec_valid 1",
    ] {
        assert!(metrics.contains(want), "{want}:\n{metrics}");
    }
    promtool(&metrics);
    // The webhooks: one digest per tick with news, the documented schema, names and ids.
    let got = digests(&hook);
    assert!(got.len() >= 2, "{got:?}");
    assert_eq!(got[0]["schema"], "phonefleet.watch/v1");
    let events: Vec<&Value> = got
        .iter()
        .flat_map(|d| d["events"].as_array().unwrap())
        .collect();
    let has = |kind: &str, id: &str| {
        events
            .iter()
            .any(|e| e["kind"] == kind && e["phone_id"] == id && e["name"].is_string())
    };
    assert!(
        has("drifted", "c1") && has("drifted", "g1") && has("healed", "g1"),
        "{events:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["kind"] == "drifted" && e["phone_id"] == "c1")
            .count(),
        1,
        "once per episode"
    );
    let slack_bodies = digests(&slack);
    assert!(
        slack_bodies[0]["text"]
            .as_str()
            .unwrap()
            .contains("drifted cph / store-1 (c1)"),
        "{slack_bodies:?}"
    );
    // No secret anywhere: the tokens, the webhook URLs.
    let out = w.stop(libc::SIGTERM);
    out.code(0)
        .stderr_has("Terminated (SIGTERM): watch stopped; the last tick: tick ");
    // (The webhooks' own requests go to their URL, of course: their bodies are searched.)
    let bodies: Vec<String> = hook
        .requests()
        .into_iter()
        .chain(slack.requests())
        .map(|r| r.body)
        .collect();
    let everything = format!("{}{bodies:?}{metrics}", out.stderr);
    for secret in [token_of("gl"), token_of("cph"), "/services/T0/B0/secret"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[test]
fn a_guard_broken_by_the_heals_heals_nothing_that_tick() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&spec(
        &sim.url(),
        "start, set_traffic",
        "safety: {max_changes: 1}\n",
    ));
    stop_behind_its_back(&sim, &["g1", "g2"]);
    let w = Watching::start(watch(&dir, &hook, &slack));
    w.wait_for("guard broken: max_changes: 3 phones change, limit 1; nothing was healed this tick");
    w.wait_for("tick 3 ");
    assert_eq!(
        w.count("guard broken"),
        1,
        "once while it stays broken:\n{}",
        w.log()
    );
    assert!(
        w.log().contains("not healed: refusing to apply"),
        "{}",
        w.log()
    );
    assert_eq!(
        sim.mutating_calls(),
        1,
        "only the stop behind its back (one call, two phones)"
    );
    w.stop(libc::SIGINT).code(0);
}

#[test]
fn an_edited_spec_is_taken_up_and_an_invalid_one_keeps_the_last_good_one() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&spec(&sim.url(), "", ""));
    stop_behind_its_back(&sim, &["g2"]);
    let w = Watching::start(watch(&dir, &hook, &slack));
    w.wait_for("tick 2 ");
    assert_eq!(status_of(&sim, "g2"), 2, "observe only: nothing healed");
    // The reviewed change lets watch start phones: the next tick does.
    dir.write("spec.yaml", &spec(&sim.url(), "start", ""));
    w.wait_for("the spec changed: 3 phones now (heals: start)");
    w.wait_for("healed gl / growth-2 (g2): start");
    // A broken edit: said once, the last good spec stays in force.
    dir.write("spec.yaml", "version: 1\nphones: [\n");
    w.wait_for("the spec on disk is invalid; the last good one stays in force");
    let (_, metrics) = w.get("/metrics");
    assert!(metrics.contains("phonefleet_spec_valid 0"), "{metrics}");
    stop_behind_its_back(&sim, &["g1"]);
    w.wait_for("healed gl / growth-1 (g1): start");
    let invalid = digests(&hook)
        .iter()
        .flat_map(|d| d["events"].as_array().unwrap().clone())
        .filter(|e| e["kind"] == "spec_invalid")
        .count();
    assert_eq!(invalid, 1);
    let (code, _) = w.get("/healthz");
    assert_eq!(code, 200);
    w.stop(libc::SIGTERM).code(0);
}

#[test]
fn a_failing_webhook_never_stops_the_loop() {
    let sim = Sim::start(FIXTURE);
    let down = Fake::start(|_| Reply::Json(500, vec![], "{}".into()));
    let slack = webhook();
    let dir = Dir::with_spec(&spec(&sim.url(), "start", ""));
    let w = Watching::start(watch(&dir, &down, &slack));
    w.wait_for("webhook `PHONEFLEET_WEBHOOK_URL`: HTTP 500; 1 digest kept, next try in 1s");
    stop_behind_its_back(&sim, &["g1"]);
    w.wait_for("healed gl / growth-1 (g1): start");
    assert!(
        !digests(&slack).is_empty(),
        "the other webhook still gets its digests"
    );
    w.stop(libc::SIGTERM).code(0);
}

#[test]
fn a_webhook_variable_must_be_meant_for_phonefleet_set_and_https() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(
        &spec(&sim.url(), "start", "").replace("PHONEFLEET_WEBHOOK_URL", "GEELARK_TOKEN"),
    );
    pf(&["validate", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("`GEELARK_TOKEN` holds a provider credential");
    let dir = Dir::with_spec(
        &spec(&sim.url(), "start", "").replace("PHONEFLEET_WEBHOOK_URL", "GITHUB_TOKEN"),
    );
    pf(&["validate", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("`GITHUB_TOKEN` is not a variable meant for phonefleet");
    let dir = Dir::with_spec(&spec(&sim.url(), "start", ""));
    pf(&["watch", &dir.spec(), "--listen", "127.0.0.1:0"])
        .env("PHONEFLEET_SLACK_URL", "https://hooks.example/x")
        .run()
        .code(1)
        .stderr_has("the variable `PHONEFLEET_WEBHOOK_URL` (a webhook URL) is not set");
    pf(&["watch", &dir.spec(), "--listen", "127.0.0.1:0"])
        .env(
            "PHONEFLEET_WEBHOOK_URL",
            "http://hooks.example/very-secret-path",
        )
        .env("PHONEFLEET_SLACK_URL", "https://hooks.example/x")
        .run()
        .code(1)
        .stderr_has("must hold an https:// URL (http:// only to loopback)");
}

/// `promtool check metrics` on the exposition, when promtool is installed (CI installs Debian's
/// `prometheus` package and sets `PHONEFLEET_PROMTOOL`, so that there it must run).
fn promtool(metrics: &str) {
    let tool = std::env::var("PHONEFLEET_PROMTOOL").ok();
    let path = tool.clone().unwrap_or_else(|| "promtool".into());
    let child = std::process::Command::new(&path)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if tool.is_none() => {
            eprintln!("promtool not found ({e}); /metrics not checked by it here");
            return;
        }
        Err(e) => panic!("PHONEFLEET_PROMTOOL={path} cannot run: {e}"),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn healthz_turns_503_when_no_tick_succeeded_for_three_intervals() {
    let hook = webhook();
    // Nothing listens on port 1: every read fails at once.
    let dir = Dir::with_spec(
        "version: 1
providers:
  gl: {kind: geelark, endpoint: 'http://127.0.0.1:1', credentials: {token_env: PHONEFLEET_GEELARK_TOKEN}}
phones:
  - {id: g1, provider: gl, state: running}
watch:
  notify: [{url_env: PHONEFLEET_WEBHOOK_URL}]
",
    );
    let w = Watching::start(
        pf(&[
            "watch",
            &dir.spec(),
            "--interval",
            "1",
            "--timeout",
            "2",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("PHONEFLEET_WEBHOOK_URL", &hook.url),
    );
    w.wait_for("tick 1 failed");
    w.wait_for("tick 5 failed");
    let (code, body) = w.get("/healthz");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("more than three intervals"), "{body}");
    let (_, metrics) = w.get("/metrics");
    assert!(
        metrics.contains("phonefleet_ticks_total{result=\"failed\"}"),
        "{metrics}"
    );
    let unreachable = digests(&hook)
        .iter()
        .flat_map(|d| d["events"].as_array().unwrap().clone())
        .filter(|e| e["kind"] == "provider_unreachable" && e["provider"] == "gl")
        .count();
    assert_eq!(unreachable, 1, "once while it stays unreachable");
    w.stop(libc::SIGTERM).code(0);
}

/// A failed heal is tried again after 1, 2, 4 ... ticks, not every tick; one that needs a person
/// (43006: someone is connected) is not tried again while the phone and the spec stay as they are.
#[test]
fn failed_heals_back_off_and_wait_for_a_person() {
    let sim = Sim::start(
        "phones:
  - {provider: geelark, id: g1, status: running, busy: task}
  - {provider: geelark, id: g2, status: running, busy: remote}
",
    );
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  gl: {{kind: geelark, endpoint: {}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}}}
phones:
  - {{id: g1, provider: gl, name: busy-task, state: stopped}}
  - {{id: g2, provider: gl, name: busy-remote, state: stopped}}
watch:
  heal: [stop]
",
        sim.url()
    ));
    let w = Watching::start(pf(&[
        "watch",
        &dir.spec(),
        "--interval",
        "1",
        "--listen",
        "127.0.0.1:0",
        "--max-ticks",
        "8",
    ]));
    w.wait_for("tick 8 ");
    let tries = |id: &str| {
        sim.calls()
            .iter()
            .filter(|(route, ids)| route == "stop" && ids.iter().any(|i| i == id))
            .count()
    };
    // Ticks 1, 2, 4 and 8 for the phone that may pass later; tick 1 only for the one that needs a person.
    assert_eq!(tries("g1"), 4, "{:?}\n{}", sim.calls(), w.log());
    assert_eq!(tries("g2"), 1, "{:?}", sim.calls());
    assert!(
        w.log()
            .contains("heal failed gl / busy-remote (g2): stop: 43006"),
        "{}",
        w.log()
    );
    assert!(
        w.log().contains("(to do: someone is connected"),
        "{}",
        w.log()
    );
    assert!(w.log().contains("2 waiting to retry"), "{}", w.log());
    // g1 failed four times the same way: said once, counted every time.
    assert_eq!(
        w.count("heal failed gl / busy-task (g1): stop: 43005"),
        1,
        "{}",
        w.log()
    );
    assert!(w.log().contains("1 heal failed"), "{}", w.log());
}

/// A tick with many events reads as a screenful: folded by event, provider and detail, with a count and
/// a few names (`-v` lists every phone); Slack leads with what needs a person, then heals, then drift.
#[test]
fn a_big_tick_folds_like_the_plan() {
    let mut fixture = String::from("phones:\n");
    let mut phones = String::new();
    for i in 0..57 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i}, status: running}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: g{i}, provider: gl, name: growth-{i}, state: running}}\n"
        ));
    }
    for i in 0..40 {
        fixture.push_str(&format!(
            "  - {{provider: huawei-cph, id: c{i}, project_id: p1, status: running, traffic: direct}}\n"
        ));
        phones.push_str(&format!(
            "  - {{id: c{i}, provider: cph, name: store-{i}, state: running, traffic: routing}}\n"
        ));
    }
    let sim = Sim::start(&fixture);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  gl: {{kind: geelark, endpoint: {url}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}}}
  cph: {{kind: huawei-cph, project_id: p1, endpoint: {url}, credentials: {{token_env: PHONEFLEET_CPH_TOKEN}}}}
phones:
{phones}watch:
  heal: [start]
  notify:
    - {{url_env: PHONEFLEET_WEBHOOK_URL}}
    - {{url_env: PHONEFLEET_SLACK_URL, format: slack}}
",
        url = sim.url()
    ));
    // 57 GeeLark phones stopped behind watch's back: all healed in one tick.
    let ids: Vec<String> = (0..57).map(|i| format!("g{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let w = Watching::start(watch(&dir, &hook, &slack));
    w.wait_for("tick 1 ok");
    let before = w.log().lines().count();
    for chunk in ids.chunks(20) {
        stop_behind_its_back(&sim, chunk);
    }
    w.wait_for("57 healed");
    std::thread::sleep(Duration::from_millis(300));
    let out = w.stop(libc::SIGINT);
    let log = out.stderr;
    assert!(
        log.contains("healed gl / 57 phones: start\nwatch:     phones: growth-"),
        "{log}"
    );
    assert!(
        log.contains("... and 47 more (-v lists every phone)"),
        "{log}"
    );
    assert!(
        log.contains("drifted cph / 40 phones: traffic: direct -> routing"),
        "the first tick's drift, folded: {log}"
    );
    let lines = log.lines().count();
    assert!(
        lines - before < 40,
        "a screenful, not a line per phone: {log}"
    );
    // Slack: what needs a person first (nothing here), then heals, then drift.
    let texts: Vec<String> = digests(&slack)
        .iter()
        .map(|d| d["text"].as_str().unwrap().to_owned())
        .collect();
    let heal_tick = texts
        .iter()
        .find(|t| t.contains("healed gl / 57 phones"))
        .unwrap_or_else(|| panic!("{texts:?}"));
    let healed_at = heal_tick.find("healed gl / 57").unwrap();
    let drifted_at = heal_tick.find("drifted gl / 57").unwrap();
    assert!(healed_at < drifted_at, "{heal_tick}");
    // JSON: folded groups, every event counted.
    let json = digests(&hook);
    let heal_digest = json
        .iter()
        .find(|d| {
            d["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["kind"] == "healed")
        })
        .unwrap();
    let healed = heal_digest["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["kind"] == "healed")
        .unwrap();
    assert_eq!(healed["count"], 57);
    assert_eq!(healed["phones"].as_array().unwrap().len(), 10);
    assert!(heal_digest["events_total"].as_u64().unwrap() >= 57);
}

/// A fleet whose reads a provider's rate limits cannot take every interval: the interval is stretched
/// to what they allow, said in the log and in the metrics, instead of ticks throttled into errors.
#[test]
fn an_interval_shorter_than_the_rate_limits_allow_is_stretched_and_said() {
    let mut fixture = String::from("phones:\n");
    let mut ids = Vec::new();
    for i in 0..250 {
        fixture.push_str(&format!(
            "  - {{provider: geelark, id: g{i:03}, status: running}}\n"
        ));
        ids.push(format!("g{i:03}"));
    }
    let sim = Sim::start(&fixture);
    // 3 status calls a tick against 60 calls an hour: one tick every 180 s at most.
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  gl: {{kind: geelark, endpoint: {}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}, limits: {{requests_per_hour: 60}}}}
groups:
  - {{provider: gl, state: running, ids: [{}]}}
",
        sim.url(),
        ids.join(", ")
    ));
    let w = Watching::start(every_second(&dir));
    w.wait_for("provider `gl` allows 60 calls an hour; reading its phones takes 3 calls a tick, so a tick can start every 180s at most");
    w.wait_for("ticks start every 180s, not every 1s (--interval)");
    w.wait_for("tick 1 ok: 250 phones");
    let (_, metrics) = w.get("/metrics");
    assert!(
        metrics.contains("phonefleet_tick_interval_seconds 180"),
        "{metrics}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        w.count("tick 2 "),
        0,
        "the next tick waits for the stretched interval"
    );
    w.stop(libc::SIGTERM).code(0);
}

/// Heals take the account lock: while another process holds it (an apply), a tick heals nothing and
/// says so; once it is free, the next tick heals.
#[test]
fn heals_wait_for_the_account_lock_another_process_holds() {
    use sha2::Digest;
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let text = spec(&sim.url(), "start", "");
    let dir = Dir::with_spec(&text);
    stop_behind_its_back(&sim, &["g1"]);
    let locks = tempfile::tempdir().unwrap();
    // The lock file of the `gl` account, as phonefleet names it, held by flock(1) for 3 s.
    let loaded = phonefleet::spec::load_str("spec.yaml", text.as_bytes()).unwrap();
    let account = phonefleet::ops::lock::account(&loaded.spec.providers["gl"], false);
    let file = locks.path().join("phonefleet/locks").join(format!(
        "{}.lock",
        hex::encode(&sha2::Sha256::digest(account.as_bytes())[..12])
    ));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut holder = std::process::Command::new("flock")
        .arg(&file)
        .args(["sleep", "3"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let w = Watching::start(
        watch(&dir, &hook, &slack).env("XDG_RUNTIME_DIR", &locks.path().display().to_string()),
    );
    w.wait_for("not healed: another apply is running against provider `gl`");
    assert_eq!(
        status_of(&sim, "g1"),
        2,
        "nothing sent while the lock is held"
    );
    holder.wait().unwrap();
    w.wait_for("healed gl / growth-1 (g1): start");
    w.stop(libc::SIGTERM).code(0);
}

/// A directory gives `watch` once, like `safety`: twice is refused naming both files.
#[test]
fn a_directory_gives_watch_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(
        p("a.yaml"),
        "version: 1\nproviders:\n  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}\nwatch: {heal: [start]}\n",
    )
    .unwrap();
    std::fs::write(p("b.yaml"), "version: 1\nwatch:\n  heal: [stop]\n").unwrap();
    pf(&["validate", &dir.path().display().to_string()])
        .run()
        .code(1)
        .stderr_has("b.yaml:2:1: watch: `watch` is given twice (first at ");
}

/// `--log-format json`: every stderr line is a JSON object; a tick's line carries its numbers and its
/// events.
#[test]
fn the_json_log_is_one_object_a_line() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&spec(&sim.url(), "start", ""));
    stop_behind_its_back(&sim, &["g1"]);
    let out = watch(&dir, &hook, &slack)
        .args(&["--log-format", "json", "--max-ticks", "2"])
        .run();
    out.code(0);
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let ticks: Vec<&Value> = lines.iter().filter(|l| l.get("tick").is_some()).collect();
    assert_eq!(ticks.len(), 2, "{}", out.stderr);
    let first = ticks[0];
    assert_eq!(first["result"], "ok");
    assert_eq!(first["phones"], 3);
    assert_eq!(first["healed"], 1);
    assert!(first["seconds"].as_f64().unwrap() >= 0.0);
    let kinds: Vec<&str> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"drifted") && kinds.contains(&"healed"),
        "{kinds:?}"
    );
    assert!(
        lines[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("watching "),
        "{}",
        out.stderr
    );
}

/// A phone named to reach people in Slack (`<!channel>`, a link with text, a mention) reaches no one:
/// Slack's `&<>` are escaped and bare links broken.
#[test]
fn names_in_slack_cannot_ping_or_link() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let hostile = "<!channel> <https://evil.example|Approve> @here";
    let dir = Dir::with_spec(&spec(&sim.url(), "", "").replace("store-1", &format!("'{hostile}'")));
    let w = Watching::start(watch(&dir, &hook, &slack));
    w.wait_for("tick 1 ok");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while digests(&slack).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    w.stop(libc::SIGINT).code(0);
    let text = digests(&slack)[0]["text"].as_str().unwrap().to_owned();
    assert!(text.contains("(c1)"), "{text}");
    for bad in ["<!channel>", "<https://", "https://evil", "|Approve>"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    assert!(text.contains("&lt;!channel&gt;"), "{text}");
}

/// watch's server cannot be frozen by whoever reaches its port: with 2,000 half-open connections
/// (headers begun, never finished) held open against a watch that may open 1,024 files (a common
/// service limit), `/healthz` still answers at once; a half-open connection is closed when its
/// headers do not arrive in time.
#[test]
fn healthz_keeps_answering_with_2000_half_open_connections() {
    let sim = Sim::start(FIXTURE);
    let (hook, slack) = (webhook(), webhook());
    let dir = Dir::with_spec(&spec(&sim.url(), "", ""));
    let w = Watching::start(watch(&dir, &hook, &slack).max_open_files(1024));
    w.wait_for("tick 1 ok");
    // Opened at about 4,000 a second: a burst faster than a debug build accepts would overflow the
    // listen backlog and cost the test the kernel's one- and two-second SYN retries, nothing more.
    let held: Vec<std::net::TcpStream> = (0..2000)
        .map(|_| {
            std::thread::sleep(Duration::from_micros(250));
            let mut s = std::net::TcpStream::connect(&w.addr).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    let (code, body) = w.get("/healthz");
    assert_eq!(code, 200, "{body}");
    let (code, _) = w.get("/metrics");
    assert_eq!(code, 200);
    // The newest half-open connection (not closed to make room) is closed by the header-read timeout.
    let mut newest = held.last().unwrap().try_clone().unwrap();
    newest
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut answer = Vec::new();
    let closed = newest.read_to_end(&mut answer);
    assert!(
        closed.is_ok(),
        "closed by the server, not by our read timeout: {closed:?}"
    );
    drop(held);
    let (code, _) = w.get("/healthz");
    assert_eq!(code, 200);
    w.stop(libc::SIGINT).code(0);
}

/// `watch --simulate --simulate-reset` starts from a freshly seeded simulated fleet (it was accepted
/// and ignored); without the flag, the saved one is kept.
#[test]
fn watch_simulate_reset_starts_from_a_fresh_simulated_fleet() {
    let dir = Dir::with_spec(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml"),
        )
        .unwrap(),
    );
    pf(&["apply", "--simulate", "spec.yaml", "--auto-approve"])
        .dir(dir.dir.path())
        .run()
        .code(0);
    let tick = |extra: &[&str]| {
        let mut args = vec!["watch", "spec.yaml", "--simulate", "--interval", "1"];
        args.extend_from_slice(&["--listen", "127.0.0.1:0"]);
        args.extend_from_slice(extra);
        let w = Watching::start(pf(&args).dir(dir.dir.path()));
        let line = w.wait_for("tick 1 ");
        w.stop(libc::SIGINT).code(0);
        line
    };
    let kept = tick(&[]);
    assert!(
        kept.contains("0 drifted"),
        "the applied fleet is kept: {kept}"
    );
    let fresh = tick(&["--simulate-reset"]);
    assert!(
        !fresh.contains(" 0 drifted"),
        "a fresh fleet drifts: {fresh}"
    );
}

/// `watch SPEC --interval 1` with its metrics on a free port.
fn every_second(dir: &Dir) -> Cmd {
    pf(&[
        "watch",
        &dir.spec(),
        "--interval",
        "1",
        "--listen",
        "127.0.0.1:0",
    ])
}

/// `watch.heal: [rename]` on a provider with `names: manage`: a phone renamed in the console gets its
/// declared name back within a tick, through the same executor, and the log says so.
#[test]
fn watch_renames_a_phone_renamed_behind_its_back() {
    let sim = Sim::start(
        "phones:\n  - {provider: geelark, id: g1, status: running, name: growth-1}\n  - {provider: geelark, id: g2, status: running, name: growth-2}\n",
    );
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  gl: {{kind: geelark, endpoint: {}, credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}, names: manage}}
phones:
  - {{id: g1, provider: gl, name: growth-1, state: running}}
  - {{id: g2, provider: gl, name: growth-2, state: running}}
watch:
  heal: [rename]
",
        sim.url()
    ));
    let w = Watching::start(every_second(&dir));
    w.wait_for("tick 1 ok: 2 phones, 0 drifted");
    let r = call(
        &sim,
        "POST",
        "/_sim/phones/geelark/g1",
        &[],
        Some(json!({ "name": "someone-else" })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    w.wait_for("healed gl / growth-1 (g1): rename");
    assert_eq!(sim.phones()["g1"]["name"], "growth-1");
    assert_eq!(
        sim.stats().get("POST /open/v1/phone/detail/update"),
        Some(&1)
    );
    w.stop(libc::SIGTERM).code(0);
}

/// A phone waiting for a restart (its mark read from the provider) with `restart: when-needed` and
/// `heal: [restart]`: watch restarts it and clears the mark with it, once, not on every tick.
#[test]
fn watch_makes_an_owed_restart_once() {
    let sim = Sim::start(
        "phones:\n  - {provider: huawei-cph, id: c1, project_id: p1, status: running, properties: {com.cph.mainkeys: '1'}, custom_property: {phonefleet.restart_pending: com.cph.mainkeys}}\n",
    );
    let dir = Dir::with_spec(&format!(
        "version: 1
providers:
  cph: {{kind: huawei-cph, project_id: p1, endpoint: {}, credentials: {{token_env: PHONEFLEET_CPH_TOKEN}}}}
phones:
  - {{id: c1, provider: cph, name: store-1, properties: {{com.cph.mainkeys: 1}}, restart: when-needed}}
watch:
  heal: [restart]
",
        sim.url()
    ));
    let w = Watching::start(every_second(&dir));
    w.wait_for("healed cph / store-1 (c1): restart");
    w.wait_for("tick 4 ");
    let stats = sim.stats();
    assert_eq!(
        stats.get("POST /v1/{project_id}/cloud-phone/phones/batch-restart"),
        Some(&1),
        "{stats:?}\n{}",
        w.log()
    );
    assert_eq!(
        sim.phones()["c1"]["custom_property"]["phonefleet.restart_pending"],
        ""
    );
    w.stop(libc::SIGTERM).code(0);
}
