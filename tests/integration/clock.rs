//! Time as a value: the watch controller's ticks, an account lock's wait and a read's retries run in
//! process on tokio's paused clock, against the simulator in the same runtime. Virtual minutes pass in
//! milliseconds, and each test asserts the schedule (when the next tick is due, how long a wait
//! lasted on the clock) instead of sleeping through it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use phonefleet::ops::controller::{Config, Controller};
use phonefleet::simulator::{Fixture, SimConfig, Simulator};
use phonefleet::watch::server::Shared;

async fn simulator(fixture: &str, config: SimConfig) -> Simulator {
    let fixture: Fixture = serde_yaml::from_str(fixture).unwrap();
    Simulator::start(([127, 0, 0, 1], 0).into(), fixture, config)
        .await
        .unwrap()
}

/// Changes made at once: on a paused clock the simulator's transitions would take real time.
fn instant() -> SimConfig {
    SimConfig {
        transition: Duration::ZERO,
        ..SimConfig::default()
    }
}

async fn admin(sim: &Simulator, path: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn watch_ticks_follow_the_interval_and_heal_at_the_next_tick_on_a_paused_clock() {
    let sim = simulator(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n  - {provider: geelark, id: g2, status: running}\n",
        instant(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        format!(
            "{}phones:\n  - {{id: g1, provider: gl, name: growth-1, state: running}}\n  - {{id: g2, provider: gl, state: running}}\nwatch:\n  heal: [start]\n",
            crate::support::providers(&sim.base_url())
        ),
    )
    .unwrap();
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
        clock: phonefleet::clock::Clock::system(),
    };
    let real = std::time::Instant::now();
    let start = Instant::now();
    let (mut c, _, said) = Controller::start(config, Shared::new(Duration::from_secs(300)))
        .await
        .unwrap();
    assert!(said[0].contains("every 300s; heals: start"), "{said:?}");
    let first = c.tick(start).await;
    assert_eq!(first.n, 1);
    assert_eq!(
        first.next,
        start + Duration::from_secs(300),
        "one interval after it started"
    );
    let (summary, events) = first.summary.unwrap();
    assert_eq!((summary.phones, summary.drifted), (2, 0), "{events:?}");
    // Someone stops g1 in the console; nothing happens until the next tick is due.
    admin(&sim, "/_sim/phones/geelark/g1", json!({"state": "stopped"})).await;
    tokio::time::sleep_until(first.next).await;
    assert_eq!(Instant::now() - start, Duration::from_secs(300));
    let second = c.tick(first.next).await;
    let (summary, events) = second.summary.unwrap();
    assert_eq!(summary.healed, 1, "{events:?}");
    assert_eq!(second.next, start + Duration::from_secs(600));
    let phones: Vec<serde_json::Value> = reqwest::get(format!("{}/_sim/phones", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(phones[0]["status"], 0, "g1 runs again: {phones:?}");
    // Ten minutes of ticks took well under a real second.
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
    c.close().await.unwrap();
    sim.stop().await;
}

/// `apply --lock-timeout`: a lock held elsewhere is waited for on the clock, taken when it is freed,
/// and refused, naming the holder, when the wait is over.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_lock_wait_is_measured_on_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let spec = phonefleet::spec::load_str(
        "spec.yaml",
        crate::support::providers("http://127.0.0.1:9").as_bytes(),
    )
    .unwrap();
    let providers: BTreeMap<_, _> = spec.spec.providers.clone();
    let held = phonefleet::ops::lock::acquire_now(dir.path(), &providers, true, "apply first.yaml")
        .unwrap();
    let start = Instant::now();
    let refused = phonefleet::ops::lock::acquire(
        dir.path(),
        &providers,
        true,
        Duration::from_secs(600),
        "apply second.yaml",
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("apply first.yaml"), "{refused}");
    let waited = Instant::now() - start;
    assert!(
        waited >= Duration::from_secs(600) && waited < Duration::from_secs(601),
        "{waited:?}"
    );
    // Freed after two minutes: taken then, not at the end of the wait.
    let locks = dir.path().to_owned();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        drop(held);
        // A child process another test of this binary forks may hold a copy of the lock's descriptor
        // until it execs, and the paused clock would run the whole wait out meanwhile: block (really)
        // until anyone can take the lock, so that the clock moves on only then.
        for _ in 0..500 {
            let free = std::fs::read_dir(&locks)
                .unwrap()
                .flatten()
                .all(|e| std::fs::File::open(e.path()).is_ok_and(|f| f.try_lock().is_ok()));
            if free {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    });
    let start = Instant::now();
    let second = phonefleet::ops::lock::acquire(
        dir.path(),
        &providers,
        true,
        Duration::from_secs(600),
        "apply second.yaml",
    )
    .await;
    assert!(second.is_ok());
    let waited = Instant::now() - start;
    assert!(
        waited >= Duration::from_secs(120) && waited < Duration::from_secs(121),
        "{waited:?}"
    );
    release.await.unwrap();
}

/// A read of a provider answering 500 to everything retries with backoff for its budget (20 s on the
/// clock), then the phone is unreadable: the number of tries and the time they took are the policy's.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_failing_read_retries_for_its_budget_on_the_clock() {
    let sim = simulator(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n",
        SimConfig {
            error_rate: 1.0,
            ..instant()
        },
    )
    .await;
    let spec = phonefleet::spec::load_str(
        "spec.yaml",
        format!(
            "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
            crate::support::providers(&sim.base_url())
        )
        .as_bytes(),
    )
    .unwrap();
    let scope = phonefleet::ops::plan::Scope::of(
        &spec,
        &Default::default(),
        phonefleet::capability::Overrides::default(),
    )
    .unwrap();
    let start = Instant::now();
    let fleet = phonefleet::ops::fleet::Fleet::open(
        &scope.providers,
        &scope.desired,
        &scope.limits,
        phonefleet::ops::fleet::Reach::Simulator(sim.base_url()),
        false,
        start + Duration::from_secs(300),
    )
    .await
    .unwrap();
    let seen = fleet
        .observe(&scope.desired, &phonefleet::ops::fleet::Quiet)
        .await;
    let obs = seen.get("gl", "g1").unwrap();
    assert!(
        matches!(obs, phonefleet::state::Observation::Unreadable(_)),
        "{obs:?}"
    );
    let took = Instant::now() - start;
    assert!(
        took >= Duration::from_secs(10) && took <= Duration::from_secs(21),
        "the read budget is 20 s of the clock: {took:?}"
    );
    // Backoff from 0.1-0.2 s doubling to 3.2-6.4 s (equal jitter), within 20 s: 8 to 13 tries.
    let (calls, _) = sim.stats();
    assert!(
        (8..=13).contains(&calls),
        "tries with backoff, not a storm: {calls}"
    );
    fleet.close().await.unwrap();
    sim.stop().await;
}

/// GeeLark's 40007 is lifted "in the next minute" of the wall clock: the test says what time it is.
/// Half a second before the minute turns, the retry fits a 5 s run and the read succeeds on it; at
/// ten past, the window would outlive a 2 s run, so nothing is retried and the phone is unreadable
/// saying why. Real time (the fake server is a thread of its own), but no branch on the machine's
/// clock.
#[test]
fn a_minute_window_is_waited_for_when_it_fits_the_run_and_never_past_it() {
    use crate::support::fake::{Fake, Reply};
    use phonefleet::provider::Http;
    use phonefleet::provider::retry::Policy;
    let ok = json!({"code": 0, "msg": "success", "traceId": "T2", "data": {"totalAmount": 1, "successAmount": 1, "failAmount": 0, "successDetails": [{"id": "g1", "serialName": "g1", "status": 0}], "failDetails": []}}).to_string();
    let slow = json!({"code": 40007, "msg": "too many requests", "traceId": "T1"}).to_string();
    // 1,800,000,000 s after the epoch: a whole minute.
    let minute: u64 = 30_000_000 * 60_000;
    for (into_minute_ms, run, fits) in [(59_500, 5, true), (10_000, 2, false)] {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (ok, slow) = (ok.clone(), slow.clone());
        let fake = Fake::start(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                Reply::Json(200, vec![], slow.clone())
            } else {
                Reply::Json(200, vec![], ok.clone())
            }
        });
        let spec = phonefleet::spec::load_str(
            "spec.yaml",
            format!(
                "{}phones:\n  - {{id: g1, provider: gl, state: running}}\n",
                crate::support::providers(&fake.url)
            )
            .as_bytes(),
        )
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let real = std::time::Instant::now();
        let obs = rt.block_on(async {
            let scope = phonefleet::ops::plan::Scope::of(
                &spec,
                &Default::default(),
                phonefleet::capability::Overrides::default(),
            )
            .unwrap();
            let wall = std::time::UNIX_EPOCH + Duration::from_millis(minute + into_minute_ms);
            let http = Http::new(false, Instant::now() + Duration::from_secs(run))
                .unwrap()
                .with_policy(Policy {
                    clock: phonefleet::clock::Clock::at(wall),
                    ..Policy::default()
                });
            let fleet = phonefleet::ops::fleet::Fleet::open_with(
                &scope.providers,
                &scope.desired,
                &scope.limits,
                phonefleet::ops::fleet::Reach::Simulator(fake.url.clone()),
                http,
            )
            .await
            .unwrap();
            let seen = fleet
                .observe(&scope.desired, &phonefleet::ops::fleet::Quiet)
                .await;
            seen.get("gl", "g1").cloned().unwrap()
        });
        let took = real.elapsed();
        if fits {
            assert!(
                matches!(obs, phonefleet::state::Observation::Found(_)),
                "{obs:?}"
            );
            assert_eq!(fake.requests().len(), 2, "retried once the minute turned");
            assert!(took >= Duration::from_millis(500), "{took:?}");
        } else {
            let phonefleet::state::Observation::Unreadable(why) = &obs else {
                panic!("{obs:?}");
            };
            assert!(
                why.contains("still throttled") && why.contains("40007"),
                "{why}"
            );
            assert_eq!(fake.requests().len(), 1, "no retry inside the window");
            assert!(took < Duration::from_secs(2), "{took:?}");
        }
    }
}
