//! Schedules: when phones should run, in the spec. Validation names the file, line and field; `plan
//! --at` plans any moment and says why each scheduled phone starts or stops; a plan shows what each
//! schedule does over a week (against the pull request's base too); a saved plan made before an edge
//! is stale after it; `watch` acts on an edge when it comes, on a paused clock.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use phonefleet::ops::controller::{Config, Controller};
use phonefleet::simulator::{Fixture, SimConfig, Simulator};
use phonefleet::watch::server::Shared;

use crate::support::{Dir, Sim, pf, providers};

const SCHEDULES: &str = "schedules:
  office-hours:
    timezone: Europe/Berlin
    running: [\"mon-fri 09:00-18:00\"]
  nights:
    timezone: Asia/Shanghai
    running: [\"daily 22:00-06:00\"]
";

fn spec(url: &str, extra: &str) -> String {
    format!(
        "{}{SCHEDULES}phones:
  - {{id: g1, provider: gl, name: growth-1, schedule: office-hours}}
  - {{id: g2, provider: gl, name: growth-2, schedule: office-hours}}
groups:
  - {{provider: gl, ids: [g3, g4], schedule: nights}}
{extra}",
        providers(url)
    )
}

const STOPPED: &str = "phones:
  - {provider: geelark, id: g1, status: stopped}
  - {provider: geelark, id: g2, status: stopped}
  - {provider: geelark, id: g3, status: stopped}
  - {provider: geelark, id: g4, status: stopped}
";

/// Monday 2026-12-07 09:30 in Berlin (CET).
const MONDAY_0930: &str = "2026-12-07T09:30:00+01:00";

#[test]
fn a_plan_at_a_moment_says_why_scheduled_phones_start_or_stop() {
    let sim = Sim::start(STOPPED);
    let dir = Dir::with_spec(&spec(&sim.url(), ""));
    pf(&["validate", &dir.spec()]).run().code(0);
    let out = pf(&["plan", &dir.spec(), "--at", MONDAY_0930]).run();
    out.code(0)
        .stdout_has("+ gl / 2 phones: start")
        .stdout_has("note: schedule office-hours, until 18:00 CET")
        .stdout_has("Schedules (over the next week):")
        .stdout_has_text("office-hours (Europe/Berlin): 2 phones, running now; next: stop 18:00 CET, start Tue 09:00 CET; 45 h/week each")
        .stdout_has_text("nights (Asia/Shanghai): 2 phones, stopped now; next: start 22:00 CST");
    // Saturday: office hours are over, and the stopped phones already match.
    let saturday = pf(&["plan", &dir.spec(), "--at", "2026-12-12T10:00:00+01:00"]).run();
    saturday.code(0).stdout_has("No changes.");
    // JSON: the moment and what each schedule does.
    let json: Value = pf(&["plan", &dir.spec(), "--at", MONDAY_0930, "--json"])
        .run()
        .json();
    assert_eq!(json["at"], "2026-12-07T08:30:00Z");
    let office = &json["schedules"][1];
    assert_eq!(office["schedule"], "office-hours");
    assert_eq!(office["phones"], 2);
    assert_eq!(office["now"], "running");
    assert_eq!(office["minutes_per_week"], 45 * 60);
    assert_eq!(
        office["next"][0],
        json!({"at": "2026-12-07T17:00:00Z", "wall": "18:00 CET", "state": "stopped"})
    );
    // A moment that is not RFC 3339 is a usage error, exit 1.
    pf(&["plan", &dir.spec(), "--at", "monday 9am"])
        .run()
        .code(1)
        .stderr_has("is not an RFC 3339 time");
}

#[test]
fn a_pull_request_that_adds_a_schedule_shows_its_week_and_its_next_stop_against_the_guards() {
    let sim = Sim::start(STOPPED);
    let base = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n  - {{id: g2, provider: gl, state: running}}\ngroups:\n  - {{provider: gl, ids: [g3, g4], state: running}}\n",
        providers(&sim.url())
    ));
    let head = Dir::with_spec(&spec(&sim.url(), "safety: {max_stop_percent: 25}\n"));
    let out = pf(&[
        "plan",
        &head.spec(),
        "--base",
        &base.spec(),
        "--at",
        MONDAY_0930,
        "--markdown",
    ])
    .run();
    out.code(0)
        .stdout_has("| `office-hours` | Europe/Berlin | 2 | running | stop 18:00 CET, start Tue 09:00 CET | 45 h/week each instead of 168 |")
        .stdout_has("| `nights` | Asia/Shanghai | 2 | stopped | start 22:00 CST, stop Tue 06:00 CST | 56 h/week each instead of 168 |")
        .stdout_has("> Schedule `office-hours`: its stop at 18:00 CET stops 2 of 4 declared phones at gl (50%), over max\\_stop\\_percent 25%");
}

#[test]
fn schedules_are_validated_with_the_file_line_and_an_example() {
    let dir = Dir::with_spec(&format!(
        "{}schedules:
  office-hours:
    timezone: Europe/Berln
    running: [\"mon-fri 09:00-18:00\"]
  nights:
    timezone: UTC
    running: [\"daily 22:00-6:00\"]
  never:
    timezone: UTC
    running: []
phones:
  - {{id: g1, provider: gl, state: running, schedule: nights}}
  - {{id: g2, provider: gl, schedule: office-hour}}
",
        providers("http://127.0.0.1:9")
    ));
    let out = pf(&["validate", &dir.spec()]).run();
    out.code(1)
        .stderr_has("spec.yaml:18:15: schedules.office-hours.timezone")
        .stderr_has("`Europe/Berln` is not an IANA time zone")
        .stderr_has("spec.yaml:22:15: schedules.nights.running[0]")
        .stderr_has("schedule `never` has no window")
        .stderr_has("is not `HH:MM-HH:MM`")
        .stderr_has("\"mon-fri 09:00-18:00\"")
        .stderr_has("`state` and `schedule` on one entry")
        .stderr_has("schedule `office-hour` is not defined under `schedules`")
        .stderr_has("did you mean `office-hours`?");
    assert!(
        !out.stderr.contains("less than 1 item"),
        "one message a problem: {}",
        out.stderr
    );
    // The schema describes them.
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schemas/fleet.schema.json"
    ))
    .unwrap();
    assert!(
        schema.contains("\"ScheduleSpec\""),
        "schemas/fleet.schema.json is regenerated"
    );
}

async fn simulator(fixture: &str) -> Simulator {
    let fixture: Fixture = serde_yaml::from_str(fixture).unwrap();
    let config = SimConfig {
        transition: Duration::ZERO,
        ..SimConfig::default()
    };
    Simulator::start(([127, 0, 0, 1], 0).into(), fixture, config)
        .await
        .unwrap()
}

fn wall(rfc3339: &str) -> std::time::SystemTime {
    let t: jiff::Timestamp = rfc3339.parse().unwrap();
    std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(t.as_second() as u64)
}

/// A watch of the office's two running phones at 17:59 on a Monday in Berlin, healing `heal`.
async fn office_watch(
    heal: &str,
) -> (
    Simulator,
    Controller,
    std::sync::Arc<Shared>,
    tempfile::TempDir,
) {
    let sim = simulator(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n  - {provider: geelark, id: g2, status: running}\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            "{}{SCHEDULES}phones:\n  - {{id: g1, provider: gl, name: growth-1, schedule: office-hours}}\n  - {{id: g2, provider: gl, name: growth-2, schedule: office-hours}}\nwatch:\n  heal: [{heal}]\n",
            providers(&sim.base_url())
        ),
    )
    .unwrap();
    let shared = Shared::new(Duration::from_secs(300));
    let config = Config {
        spec,
        selection: Default::default(),
        simulate: false,
        reset: false,
        timeout: Duration::from_secs(60),
        interval: Duration::from_secs(300),
        verbose: false,
        locks: dir.path().join("locks"),
        simulator: Some(sim.base_url()),
        clock: phonefleet::clock::Clock::at(wall("2026-12-07T17:59:00+01:00")),
    };
    let (c, _, _) = Controller::start(config, shared.clone()).await.unwrap();
    (sim, c, shared, dir)
}

async fn statuses(sim: &Simulator) -> Vec<i64> {
    let phones: Vec<Value> = reqwest::get(format!("{}/_sim/phones", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    phones
        .iter()
        .map(|p| p["status"].as_i64().unwrap())
        .collect()
}

/// watch acts on a window's edge when it comes: a tick a minute before 18:00 sets the next tick at
/// 18:00 (not an interval later), which stops the office's phones, says which schedule moved them and
/// counts it.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn watch_stops_the_office_at_six_on_a_paused_clock() {
    let (sim, mut c, shared, _dir) = office_watch("start, stop").await;
    let start = Instant::now();
    let first = c.tick(start).await;
    let (summary, _) = first.summary.unwrap();
    assert_eq!(summary.drifted, 0, "running during office hours");
    assert_eq!(
        first.next,
        start + Duration::from_secs(60),
        "the next tick is at the edge, 18:00, not an interval later"
    );
    tokio::time::sleep_until(first.next).await;
    let second = c.tick(first.next).await;
    assert!(
        second
            .said
            .iter()
            .any(|l| l
                == "schedule office-hours: stop 2 phones (growth-1 (g1), growth-2 (g2)): 2 ok"),
        "{:?}",
        second.said
    );
    assert_eq!(statuses(&sim).await, [2, 2], "both stopped");
    let metrics = shared.metrics().encode();
    assert!(
        metrics.contains(
            "phonefleet_schedule_transitions_total{schedule=\"office-hours\",action=\"stop\",outcome=\"ok\"} 2"
        ),
        "{metrics}"
    );
    // After the edge, the next one is Tuesday 09:00: a whole interval first.
    assert_eq!(second.next, first.next + Duration::from_secs(300));
    c.close().await.unwrap();
    sim.stop().await;
}

/// Without `stop` in `watch.heal`, the edge is reported, never acted on.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn an_edge_watch_may_not_heal_is_reported_not_acted_on() {
    let (sim, mut c, shared, _dir) = office_watch("start").await;
    let start = Instant::now();
    let first = c.tick(start).await;
    tokio::time::sleep_until(first.next).await;
    let second = c.tick(first.next).await;
    assert!(
        second.said.iter().any(|l| l.contains(
            "schedule office-hours: stop 2 phones (growth-1 (g1), growth-2 (g2)): 2 not healed (stop is not in watch.heal"
        )),
        "{:?}",
        second.said
    );
    assert_eq!(statuses(&sim).await, [0, 0], "still running");
    assert!(shared.metrics().encode().contains(
        "phonefleet_schedule_transitions_total{schedule=\"office-hours\",action=\"stop\",outcome=\"not_healed\"} 2"
    ));
    c.close().await.unwrap();
    sim.stop().await;
}

/// A plan saved before an edge and applied after it is stale for the phones whose schedule changed its
/// mind, named; applied before the edge, it runs.
#[test]
fn a_saved_plan_made_before_an_edge_is_stale_after_it() {
    use phonefleet::capability::Overrides;
    use phonefleet::ops::fleet::{Fleet, Quiet, Reach};
    use phonefleet::ops::plan::{Asked, Count, Scope};
    let sim = Sim::start(STOPPED);
    let text = spec(&sim.url(), "");
    let loaded = phonefleet::spec::load_str("spec.yaml", text.as_bytes()).unwrap();
    sim.block_on(async {
        let scope = Scope::of(&loaded, &Default::default(), Overrides::default()).unwrap();
        let http = phonefleet::provider::Http::new(false, Instant::now() + Duration::from_secs(60))
            .unwrap();
        let fleet = Fleet::open_with(
            &scope.providers,
            &scope.desired,
            &scope.limits,
            Reach::Simulator(sim.url()),
            http,
        )
        .await
        .unwrap();
        let at: jiff::Timestamp = MONDAY_0930.parse().unwrap();
        let planned = phonefleet::ops::plan::plan(
            &loaded,
            &scope,
            &fleet,
            Count::No,
            Asked {
                at: Some(at),
                ..Default::default()
            },
            &Quiet,
        )
        .await;
        assert_eq!(planned.plan.summary.changes(), 2, "the office starts");
        let keys = fleet.plan_keys();
        let file = phonefleet::ops::saved::to_file(
            &planned.plan,
            &loaded,
            false,
            at.as_second() as u64,
            &keys,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(file.at, Some(at.as_second()));
        let bound = phonefleet::plan::verify::against_spec(&file, &loaded).unwrap();
        let opts = |now: &str| phonefleet::ops::saved::Options {
            now: now.parse::<jiff::Timestamp>().unwrap().as_second() as u64,
            max_age: 86_400,
            canary: None,
            max_batch: None,
            deadline: Instant::now() + Duration::from_secs(30),
            already_reset: Default::default(),
        };
        // 18:30: the office is closed; the plan that starts its phones is stale for them.
        let late = phonefleet::ops::saved::prepare(&file, &bound, &fleet, opts("2026-12-07T18:30:00+01:00"), &Quiet)
            .await
            .unwrap_err()
            .to_string();
        assert!(late.contains("stale for 2 scheduled phones"), "{late}");
        assert!(
            late.contains("gl / growth-1 (g1): schedule office-hours wants stopped now (running when the plan was made)"),
            "{late}"
        );
        // 10:00: the same window; the plan runs.
        let ready = phonefleet::ops::saved::prepare(&file, &bound, &fleet, opts("2026-12-07T10:00:00+01:00"), &Quiet)
            .await
            .unwrap();
        assert!(matches!(ready, phonefleet::ops::saved::Prepared::Ready(..)));
    });
}
