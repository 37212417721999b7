//! `cargo bench --bench fleet`: phonefleet against the simulator at 1,000, 10,000 and 100,000 phones.
//!
//! The simulator runs in this process; phonefleet runs as its own process (the release binary), so its
//! CPU time and peak memory come from `wait4`'s rusage of that process alone and the simulator's cost is
//! kept out of them. Wall times include the simulated latency, which is the point: they are compared
//! with the floor, the time the minimum number of calls needs at the provider's concurrency.
//!
//! Options (after `--`): `--sizes 1000,10000`, `--latency-ms 20`, `--baseline-max 10000` (largest fleet
//! the per-phone baseline runs on; by default every size: it needs 1.6 calls per phone, about three
//! minutes per shape at 100,000 phones), `--scenario pipeline` (only the per-phone schedule scenario,
//! which otherwise runs after the table). `PHONEFLEET_BIN` runs another phonefleet binary (to measure
//! an older version with the same harness).

// The one unsafe use in the project: `wait4`, to read the child process's own rusage.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phonefleet::simulator::{
    Fixture, FixturePhone, FixtureStatus, SimConfig, Simulator, is_mutating_route,
};
use phonefleet::spec::{PowerState, ProviderKind};

/// The providers' tokens: 32 characters like real ones (a short one would not be registered for
/// masking, and the cost of masking would go unmeasured).
const BENCH_TOKENS: [&str; 3] = [
    "cph-bench-token-0123456789abcdef",
    "gl-bench-token-0123456789abcdefg",
    "kp-bench-token-0123456789abcdefg",
];

/// phonefleet's default calls in flight per provider.
const CONCURRENCY: u64 = phonefleet::capability::DEFAULT_CONCURRENCY as u64;
/// The per-phone baseline's parallelism.
const BASELINE_PARALLELISM: u64 = 10;

struct Args {
    sizes: Vec<usize>,
    latency_ms: u64,
    baseline_max: usize,
    only_pipeline: bool,
    only_watch: bool,
}

fn args() -> Args {
    let mut a = Args {
        sizes: vec![1_000, 10_000, 100_000],
        latency_ms: 20,
        baseline_max: usize::MAX,
        only_pipeline: false,
        only_watch: false,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--sizes" => {
                a.sizes = value
                    .split(',')
                    .map(|s| s.parse().expect("sizes are numbers"))
                    .collect()
            }
            "--latency-ms" => a.latency_ms = value.parse().expect("a number"),
            "--baseline-max" => a.baseline_max = value.parse().expect("a number"),
            "--scenario" => {
                a.only_pipeline = value == "pipeline";
                a.only_watch = value == "watch";
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// GeeLark's documented 200 requests a minute would make the per-phone baseline wait minutes for the
/// rate window (that is a real cost of per-phone calls, but it would measure the limit, not the tool):
/// both runs lift it with `limits.requests_per_minute`.
///
/// A fleet of `n` phones: 40% CPH (4% of them managing a property), 40% GeeLark, 20% KooPhone; 30% of
/// the CPH and GeeLark phones drifted (power, route or properties). KooPhone phones match: their drift
/// could only be reported, not fixed.
struct Fleet {
    fixture: Fixture,
    spec: String,
    cph: usize,
    cph_props: usize,
    gl: usize,
    kp: usize,
    cph_start: usize,
    cph_route: usize,
    cph_prop_changes: usize,
    gl_start: usize,
}

fn fleet(n: usize, url: &str, with_properties: bool) -> Fleet {
    let (cph, gl) = (n * 4 / 10, n * 4 / 10);
    let kp = n - cph - gl;
    let mut phones = Vec::with_capacity(n);
    let mut plain_cph = Vec::new();
    let mut prop_entries = String::new();
    let (mut cph_props, mut cph_start, mut cph_route, mut cph_prop_changes) = (0, 0, 0, 0);
    for i in 0..cph {
        let id = format!("c{i:07}");
        // 4% of CPH phones manage a property; per ten phones: #0 stopped, #1 on the other route, #2 with
        // its property off (or stopped, when it has none).
        let props = with_properties && (i % 50 == 2 || i % 50 == 13);
        let mut stopped = i % 10 == 0;
        let routed = i % 10 == 1;
        let prop_off = props && i % 10 == 2;
        if i % 10 == 2 && !props {
            stopped = true;
        }
        cph_start += usize::from(stopped);
        cph_route += usize::from(routed);
        cph_prop_changes += usize::from(prop_off);
        let mut properties = BTreeMap::new();
        if props {
            cph_props += 1;
            let want = format!("wifi-{}", i % 5);
            let have = if prop_off {
                "old".to_owned()
            } else {
                want.clone()
            };
            properties.insert(
                "sys.prop.writewifissid".to_owned(),
                serde_json::Value::String(have),
            );
            prop_entries.push_str(&format!(
                "  - {{id: {id}, provider: cph, state: running, traffic: direct, properties: {{sys.prop.writewifissid: {want}}}}}\n"
            ));
        } else {
            plain_cph.push(id.clone());
        }
        phones.push(FixturePhone {
            provider: ProviderKind::HuaweiCph,
            id,
            project_id: Some("p1".into()),
            status: FixtureStatus::Named(if stopped {
                PowerState::Stopped
            } else {
                PowerState::Running
            }),
            traffic: Some(if routed { "routing" } else { "direct" }.into()),
            properties: (!properties.is_empty()).then_some(properties),
            busy: None,
            job_error: None,
            unreadable: false,
            koophone_code: None,
            job_fails: None,
            name: None,
            custom_property: None,
            group: None,
            tags: Vec::new(),
            remark: None,
            proxy: None,
            image: None,
            resets: 0,
            no_reset: false,
        });
    }
    let mut gl_ids = Vec::new();
    let mut gl_start = 0;
    for i in 0..gl {
        let id = format!("g{i:07}");
        let stopped = i % 10 < 3;
        gl_start += usize::from(stopped);
        phones.push(FixturePhone {
            provider: ProviderKind::Geelark,
            id: id.clone(),
            project_id: None,
            status: FixtureStatus::Named(if stopped {
                PowerState::Stopped
            } else {
                PowerState::Running
            }),
            traffic: None,
            properties: None,
            busy: None,
            job_error: None,
            unreadable: false,
            koophone_code: None,
            job_fails: None,
            name: None,
            custom_property: None,
            group: None,
            tags: Vec::new(),
            remark: None,
            proxy: None,
            image: None,
            resets: 0,
            no_reset: false,
        });
        gl_ids.push(id);
    }
    let mut kp_ids = Vec::new();
    for i in 0..kp {
        let id = format!("k{i:07}");
        phones.push(FixturePhone {
            provider: ProviderKind::Koophone,
            id: id.clone(),
            project_id: None,
            status: FixtureStatus::Named(PowerState::Running),
            traffic: None,
            properties: None,
            busy: None,
            job_error: None,
            unreadable: false,
            koophone_code: None,
            job_fails: None,
            name: None,
            custom_property: None,
            group: None,
            tags: Vec::new(),
            remark: None,
            proxy: None,
            image: None,
            resets: 0,
            no_reset: false,
        });
        kp_ids.push(id);
    }
    let list = |ids: &[String]| ids.join(", ");
    let prop_entries = if prop_entries.is_empty() {
        " []\n".to_owned()
    } else {
        format!("\n{prop_entries}")
    };
    let spec = format!(
        "version: 1
providers:
  cph: {{kind: huawei-cph, project_id: p1, endpoint: \"{url}\", credentials: {{token_env: PHONEFLEET_CPH_BENCH_TOKEN}}}}
  gl: {{kind: geelark, endpoint: \"{url}\", credentials: {{token_env: PHONEFLEET_GEELARK_BENCH_TOKEN}}, limits: {{requests_per_minute: 1000000, requests_per_hour: 100000000}}}}
  kp: {{kind: koophone, endpoint: \"{url}\", credentials: {{token_env: PHONEFLEET_KOOPHONE_BENCH_TOKEN}}}}
phones:{prop_entries}groups:
  - {{provider: cph, state: running, traffic: direct, ids: [{}]}}
  - {{provider: gl, state: running, ids: [{}]}}
  - {{provider: kp, state: running, ids: [{}]}}
",
        list(&plain_cph),
        list(&gl_ids),
        list(&kp_ids)
    );
    Fleet {
        fixture: Fixture {
            phones,
            credentials: None,
            geelark_plan_limit: None,
            cph_images: Vec::new(),
        },
        spec,
        cph,
        cph_props,
        gl,
        kp,
        cph_start,
        cph_route,
        cph_prop_changes,
        gl_start,
    }
}

/// The phonefleet binary measured: this build's, or `PHONEFLEET_BIN`.
fn bin() -> String {
    std::env::var("PHONEFLEET_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_phonefleet").to_owned())
}

/// Calls a simulator answered so far, per route.
trait Stats {
    fn by_route(&self) -> BTreeMap<String, u64>;
}

impl Stats for Simulator {
    fn by_route(&self) -> BTreeMap<String, u64> {
        self.stats().1
    }
}

/// `phonefleet simulate` in a process of its own. A child of a large process (this one, holding an
/// in-process simulator of 100,000 phones) starts life with that process's resident set counted in its
/// `ru_maxrss`, which survives the exec; with the simulator elsewhere the benchmark stays small and a
/// child's peak memory is its own.
struct External {
    child: std::process::Child,
    url: String,
}

impl External {
    fn start(fixture: &Fixture, dir: &Path, latency: Duration, transition: Duration) -> External {
        use std::io::BufRead;
        let path = dir.join("fixture.yaml");
        std::fs::write(
            &path,
            serde_yaml::to_string(fixture).expect("a fixture serializes"),
        )
        .unwrap();
        let mut child = Command::new(bin())
            .args(["simulate", "--listen", "127.0.0.1:0", "--fixture"])
            .arg(&path)
            .args(["--latency-ms", &latency.as_millis().to_string()])
            .args(["--transition-ms", &transition.as_millis().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().trim_start_matches("listening on ").to_owned();
        External { child, url }
    }

    fn get(&self, path: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        serde_json::from_str(raw.split_once("\r\n\r\n").unwrap().1).unwrap()
    }
}

impl Stats for External {
    fn by_route(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(self.get("/_sim/stats")["by_route"].clone()).unwrap()
    }
}

impl Drop for External {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Measured {
    wall: Duration,
    cpu: Duration,
    max_rss_mb: f64,
    code: i32,
    calls: BTreeMap<String, u64>,
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Run the binary, measuring its own CPU time and peak memory with `wait4`.
// The child is reaped by `wait4`, which std's `Child` cannot see.
#[allow(clippy::zombie_processes)]
fn run(rt: &tokio::runtime::Runtime, sim: &dyn Stats, dir: &Path, args: &[&str]) -> Measured {
    let _ = rt;
    let before = sim.by_route();
    let started = Instant::now();
    let child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        // Credentials as long as real ones, so that masking them in every answer is measured too.
        .env("PHONEFLEET_CPH_BENCH_TOKEN", BENCH_TOKENS[0])
        .env("PHONEFLEET_GEELARK_BENCH_TOKEN", BENCH_TOKENS[1])
        .env("PHONEFLEET_KOOPHONE_BENCH_TOKEN", BENCH_TOKENS[2])
        // The benchmark measures phonefleet, not GeeLark's limits: its spec lifts them.
        .env("PHONEFLEET_ALLOW_RAISED_LIMITS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting on our own child with valid pointers.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let wall = started.elapsed();
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Measured {
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        code: if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            -1
        },
        calls: delta(&sim.by_route(), &before),
    }
}

fn sum(calls: &BTreeMap<String, u64>, pred: impl Fn(&str) -> bool) -> u64 {
    calls.iter().filter(|(k, _)| pred(k)).map(|(_, v)| v).sum()
}

fn is_poll(route: &str) -> bool {
    route.contains("/jobs")
}

fn ceil(a: usize, b: usize) -> u64 {
    a.div_ceil(b) as u64
}

/// Minimum calls and the floor for one fleet (see BENCHMARKS.md for the derivation).
struct Minimum {
    observe: u64,
    mutate: u64,
    polls: u64,
    observe_floor: Duration,
    apply_floor: Duration,
}

fn minimum(f: &Fleet, latency: Duration, concurrency: u64) -> Minimum {
    let (cph_start, cph_route, cph_props, gl_start) =
        (f.cph_start, f.cph_route, f.cph_prop_changes, f.gl_start);
    let cph_pages = ceil(f.cph, 200);
    let obs_cph = cph_pages + f.cph_props as u64;
    let obs_gl = ceil(f.gl, 100);
    let obs_kp = ceil(f.kp, 32);
    let census = 3;
    let cph_phases = [cph_props, cph_route, cph_start];
    let cph_mut: u64 = cph_phases.iter().map(|n| ceil(*n, 100)).sum();
    // One poll per 100 jobs (the jobs page size) when jobs finish before the first poll.
    let cph_polls: u64 = cph_phases.iter().map(|n| ceil(*n, 100)).sum();
    let gl_mut = ceil(gl_start, 200);
    // Convergence reads: CPH list pages (up to all of them) and a detail per property change; GeeLark
    // status of the started phones.
    let cph_converge = cph_pages + cph_props as u64;
    let gl_converge = ceil(gl_start, 100);
    let rounds = |calls: u64| calls.div_ceil(concurrency) as u32;
    // Reading: providers side by side, the slowest decides. The plan must be whole before the first
    // change, so the changes start after it: again providers side by side, each phase (submit, then its
    // job polls) after the last, then the convergence read.
    let observe = rounds(obs_cph).max(rounds(obs_gl)).max(rounds(obs_kp));
    let cph_apply: u32 = cph_phases
        .iter()
        .map(|n| rounds(ceil(*n, 100)) * 2)
        .sum::<u32>()
        + rounds(cph_converge);
    let gl_apply = rounds(gl_mut) + rounds(gl_converge);
    Minimum {
        observe: obs_cph + obs_gl + obs_kp + census,
        mutate: cph_mut + gl_mut,
        polls: cph_polls,
        observe_floor: latency * observe,
        apply_floor: latency * (observe + cph_apply.max(gl_apply)),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// Time the simulator itself answering a 200-phone list page and a 100-id status call.
fn simulator_cost(rt: &tokio::runtime::Runtime, sim: &Simulator) -> (Duration, Duration) {
    let url = sim.base_url();
    rt.block_on(async move {
        let client = reqwest::Client::new();
        let mut list = Duration::ZERO;
        let mut status = Duration::ZERO;
        let ids: Vec<String> = (0..100).map(|i| format!("g{:07}", i * 7)).collect();
        let body = serde_json::json!({ "ids": ids });
        let n = 200;
        for i in 0..n {
            let t = Instant::now();
            client
                .get(format!(
                    "{url}/v1/p1/cloud-phone/phones?offset={}&limit=200",
                    (i * 200) % 20_000
                ))
                .header("X-Auth-Token", "t")
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            list += t.elapsed();
            let t = Instant::now();
            client
                .post(format!("{url}/open/v1/phone/status"))
                .header("traceId", "0123456789ABCDEF0123456789ABCDEF")
                .header("Authorization", "Bearer t")
                .json(&body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            status += t.elapsed();
        }
        (list / n, status / n)
    })
}

/// The per-phone schedule scenario: CPH phones with 2 s jobs, a mix of single-action phones (10
/// property updates, 10 re-routes, 280 stops) and a chained mix (100 phones with properties then a
/// start, 100 starts, 100 stops). The floor is the critical path: the read rounds, then per link of the
/// longest chain one call and one transition, then one confirming read.
fn pipeline(rt: &tokio::runtime::Runtime, latency: Duration) {
    let transition = Duration::from_secs(2);
    println!();
    println!(
        "Per-phone schedule: huawei-cph, jobs and transitions {} ms, latency {} ms, concurrency {CONCURRENCY}",
        transition.as_millis(),
        latency.as_millis()
    );
    println!();
    println!(
        "| mix | phones | longest chain | mutating calls (barrier minimum) | job polls | apply wall ms | critical-path floor ms | apply / floor | apply in transitions |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // (name, props only, routes, stops, props then start, starts)
    for (name, props, routes, stops, chained, starts) in [
        ("single-action", 10, 10, 280, 0, 0),
        ("chained", 0, 0, 100, 100, 100),
    ] {
        let mut fixture = String::from("phones:\n");
        let mut spec = String::new();
        let mut add = |prefix: &str, n: usize, status: &str, have: &str, want: &str| {
            for i in 0..n {
                let id = format!("{prefix}{i:05}");
                fixture.push_str(&format!(
                    "  - {{provider: huawei-cph, id: {id}, project_id: p1, status: {status}, traffic: direct{have}}}\n"
                ));
                spec.push_str(&format!("  - {{id: {id}, provider: cph{want}}}\n"));
            }
        };
        let props_have = ", properties: {k: old}";
        add("pr", props, "running", props_have, ", properties: {k: new}");
        add("rt", routes, "running", "", ", traffic: routing");
        add("st", stops, "running", "", ", state: stopped");
        add(
            "ch",
            chained,
            "stopped",
            props_have,
            ", state: running, properties: {k: new}",
        );
        add("sa", starts, "stopped", "", ", state: running");
        let fixture: Fixture = serde_yaml::from_str(&fixture).expect("the scenario's fixture");
        let sim = rt
            .block_on(Simulator::start(
                ([127, 0, 0, 1], 0).into(),
                fixture,
                SimConfig {
                    latency,
                    transition,
                    ..SimConfig::default()
                },
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fleet.yaml");
        std::fs::write(
            &path,
            format!(
                "version: 1\nproviders:\n  cph: {{kind: huawei-cph, project_id: p1, endpoint: {}, credentials: {{token_env: PHONEFLEET_CPH_BENCH_TOKEN}}}}\nphones:\n{spec}",
                sim.base_url()
            ),
        )
        .unwrap();
        let path = path.display().to_string();
        let m = run(
            rt,
            &sim,
            dir.path(),
            &["apply", &path, "--auto-approve", "--json"],
        );
        assert_eq!(m.code, 0, "the {name} apply failed");
        rt.block_on(async { sim.stop().await });
        let mutating = sum(&m.calls, is_mutating_route);
        let polls = sum(&m.calls, is_poll);
        let barrier_minimum = [props + chained, routes, stops, chained + starts]
            .iter()
            .map(|n| ceil(*n, 100))
            .sum::<u64>();
        let chain = if chained > 0 { 2 } else { 1 };
        let with_properties = props + chained;
        let read_rounds = ceil(with_properties, CONCURRENCY as usize).max(1) as u32;
        let floor = latency * read_rounds + (latency + transition) * chain + latency;
        let phones = props + routes + stops + chained + starts;
        println!(
            "| {name} | {phones} | {chain} | {mutating} ({barrier_minimum}) | {polls} | {} | {} | {:.2} | {:.2} |",
            ms(m.wall),
            ms(floor),
            m.wall.as_secs_f64() / floor.as_secs_f64(),
            m.wall.as_secs_f64() / transition.as_secs_f64(),
        );
    }
}

/// `watch` at 10,000 and 100,000 phones (power and route, converged first): the CPU and calls of one
/// tick (from runs of 1 and of K ticks: the difference over K - 1), peak memory after 1 and after K
/// ticks (flat when equal), and the time from a phone stopped behind watch's back to running again,
/// against interval + transition (goal: within them plus a second).
fn watch(rt: &tokio::runtime::Runtime, latency: Duration) {
    println!();
    println!(
        "watch: latency {} ms per call, concurrency {CONCURRENCY} per provider",
        latency.as_millis()
    );
    println!();
    println!(
        "| phones | ticks | reads per tick (min) | CPU per tick ms | peak MB after 1 tick | peak MB after K ticks |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (n, k) in [(10_000usize, 31u64), (100_000, 11)] {
        let probe = fleet(n, "http://127.0.0.1:1", false);
        let dir = tempfile::tempdir().unwrap();
        let sim = External::start(&probe.fixture, dir.path(), latency, Duration::ZERO);
        let f = fleet(n, &sim.url, false);
        let spec = dir.path().join("fleet.yaml");
        std::fs::write(&spec, &f.spec).unwrap();
        let spec = spec.display().to_string();
        let converge = run(rt, &sim, dir.path(), &["apply", &spec, "--auto-approve"]);
        assert_eq!(converge.code, 0, "apply failed at {n}");
        let ticks = |k: u64| {
            let k = k.to_string();
            let m = run(
                rt,
                &sim,
                dir.path(),
                &[
                    "watch",
                    &spec,
                    "--interval",
                    "1",
                    "--listen",
                    "127.0.0.1:0",
                    "--max-ticks",
                    &k,
                ],
            );
            assert_eq!(m.code, 0, "watch failed at {n}");
            m
        };
        let one = ticks(1);
        let many = ticks(k);
        let reads = |m: &Measured| sum(&m.calls, |r| !is_mutating_route(r) && !is_poll(r));
        let per_tick_reads = (reads(&many) - reads(&one)) / (k - 1);
        let cpu = (many.cpu.saturating_sub(one.cpu)) / (k - 1) as u32;
        // The reads of a plan without the census (watch does not count unmanaged phones).
        let min_reads = minimum(&f, latency, CONCURRENCY).observe - 3;
        println!(
            "| {n} | {k} | {per_tick_reads} ({min_reads}) | {} | {:.0} | {:.0} |",
            ms(cpu),
            one.max_rss_mb,
            many.max_rss_mb
        );
    }
    heal_latency(rt, latency);
}

/// A GeeLark phone stopped behind watch's back (10,000 phones, interval 5 s, transition 1 s): the time
/// until the simulator shows it running again, three times at different points of the interval.
// The watch child is reaped by `kill` and `wait`.
fn heal_latency(rt: &tokio::runtime::Runtime, latency: Duration) {
    let (n, interval, transition) = (10_000, 5u64, Duration::from_secs(1));
    let probe = fleet(n, "http://127.0.0.1:1", false);
    let mut fixture = probe.fixture.clone();
    for p in &mut fixture.phones {
        p.status = FixtureStatus::Named(PowerState::Running);
    }
    let sim = rt
        .block_on(Simulator::start(
            ([127, 0, 0, 1], 0).into(),
            fixture,
            SimConfig {
                latency,
                transition,
                ..SimConfig::default()
            },
        ))
        .unwrap();
    let f = fleet(n, &sim.base_url(), false);
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("fleet.yaml");
    std::fs::write(&spec, format!("{}watch: {{heal: [start]}}\n", f.spec)).unwrap();
    let converge = run(
        rt,
        &sim,
        dir.path(),
        &["apply", &spec.display().to_string(), "--auto-approve"],
    );
    assert_eq!(converge.code, 0);
    let mut child = Command::new(bin())
        .args([
            "watch",
            &spec.display().to_string(),
            "--interval",
            &interval.to_string(),
            "--listen",
            "127.0.0.1:0",
        ])
        // Credentials as long as real ones, so that masking them in every answer is measured too.
        .env("PHONEFLEET_CPH_BENCH_TOKEN", BENCH_TOKENS[0])
        .env("PHONEFLEET_GEELARK_BENCH_TOKEN", BENCH_TOKENS[1])
        .env("PHONEFLEET_KOOPHONE_BENCH_TOKEN", BENCH_TOKENS[2])
        // The benchmark measures phonefleet, not GeeLark's limits: its spec lifts them.
        .env("PHONEFLEET_ALLOW_RAISED_LIMITS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let client = reqwest::Client::new();
    // As GeeLark reports it (0: started), through its status route: transitions included.
    let gl = |path: &str, ids: &[&str]| {
        rt.block_on(async {
            client
                .post(format!("{}/open/v1/phone/{path}", sim.base_url()))
                .header("Authorization", "Bearer bench")
                .header("traceId", "0123456789ABCDEF0123456789ABCDEF")
                .json(&serde_json::json!({ "ids": ids }))
                .send()
                .await
                .expect("a GeeLark call")
                .json::<serde_json::Value>()
                .await
                .expect("a JSON answer")
        })
    };
    let running = |id: &str| gl("status", &[id])["data"]["successDetails"][0]["status"] == 0;
    std::thread::sleep(Duration::from_secs(3));
    let mut worst = Duration::ZERO;
    let mut all = Vec::new();
    for (i, wait) in [0.7f64, 2.9, 4.3].iter().enumerate() {
        std::thread::sleep(Duration::from_secs_f64(*wait));
        let id = format!("g{:07}", i * 7 + 1);
        let stopped = Instant::now();
        let answer = gl("stop", &[&id]);
        assert_eq!(answer["code"], 0, "{answer}");
        // Wait for the stop to show, then for the phone to run again.
        while running(&id) && stopped.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(10));
        }
        while !running(&id) {
            assert!(
                stopped.elapsed() < Duration::from_secs(60),
                "{id} was never started again"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
        let took = stopped.elapsed();
        worst = worst.max(took);
        all.push(ms(took));
    }
    let _ = child.kill();
    let _ = child.wait();
    rt.block_on(async { sim.stop().await });
    let bound = Duration::from_secs(interval) + transition + Duration::from_secs(1);
    println!();
    println!(
        "Heal latency at {n} phones, interval {interval} s, transition {} ms: {} ms (worst {}) against interval + transition + 1 s = {} ms: {}",
        transition.as_millis(),
        all.join(", "),
        ms(worst),
        ms(bound),
        if worst <= bound { "within" } else { "over" }
    );
}

fn main() {
    let a = args();
    let latency = Duration::from_millis(a.latency_ms);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if a.only_pipeline {
        pipeline(&rt, latency);
        return;
    }
    if a.only_watch {
        watch(&rt, latency);
        return;
    }
    println!(
        "phonefleet benchmark: latency {} ms per call, concurrency {CONCURRENCY} per provider, transitions 0 ms",
        a.latency_ms
    );
    println!();
    println!(
        "| phones | fleet | observe calls (min) | apply mutating calls (min) | job polls (min) | plan wall ms | plan floor ms | plan CPU ms | plan peak MB | apply wall ms | apply floor ms | apply / floor | apply CPU ms | apply peak MB | per-phone baseline wall ms | speed-up |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    for (&n, with_properties) in a.sizes.iter().flat_map(|n| [(n, false), (n, true)]) {
        // Simulators in processes of their own (see `External`): phonefleet's peak memory is its own.
        let start =
            |fixture: &Fixture, dir: &Path| External::start(fixture, dir, latency, Duration::ZERO);
        let probe = fleet(n, "http://127.0.0.1:1", with_properties);
        let dir = tempfile::tempdir().unwrap();
        let sim = start(&probe.fixture, dir.path());
        let f = fleet(n, &sim.url, with_properties);
        let spec = dir.path().join("fleet.yaml");
        std::fs::write(&spec, &f.spec).unwrap();
        let spec = spec.display().to_string();
        let min = minimum(&f, latency, CONCURRENCY);
        let shape = if with_properties {
            "4% of CPH phones manage a property"
        } else {
            "power and route"
        };
        let plan = run(&rt, &sim, dir.path(), &["plan", &spec, "--json"]);
        assert_eq!(plan.code, 0, "plan failed at {n}");
        let apply = run(
            &rt,
            &sim,
            dir.path(),
            &["apply", &spec, "--auto-approve", "--json"],
        );
        assert_eq!(apply.code, 0, "apply failed at {n}");
        let after = run(
            &rt,
            &sim,
            dir.path(),
            &["plan", &spec, "--detailed-exitcode"],
        );
        assert_eq!(after.code, 0, "the fleet did not converge at {n}");
        let observe_calls = sum(&plan.calls, |r| !is_mutating_route(r) && !is_poll(r));
        let mutate_calls = sum(&apply.calls, is_mutating_route);
        let polls = sum(&apply.calls, is_poll);
        drop(sim);
        // The same fleet, from the same drifted start, on a fresh simulator.
        let fresh_apply = |extra: &[&str]| {
            let fresh = start(&probe.fixture, dir.path());
            let f2 = fleet(n, &fresh.url, with_properties);
            std::fs::write(dir.path().join("fleet.yaml"), &f2.spec).unwrap();
            let mut args = vec!["apply", spec.as_str(), "--auto-approve", "--json"];
            args.extend_from_slice(extra);
            let m = run(&rt, &fresh, dir.path(), &args);
            assert_eq!(m.code, 0, "{extra:?} failed at {n}");
            drop(fresh);
            m
        };
        let p10 = BASELINE_PARALLELISM.to_string();
        let (baseline, speedup) = if n <= a.baseline_max {
            let b = fresh_apply(&["--max-batch", "1", "--parallelism", &p10]);
            let calls: u64 = b.calls.values().sum();
            notes.push(format!(
                "{n} phones, {shape}: the per-phone baseline made {calls} calls"
            ));
            let ratio = b.wall.as_secs_f64() / apply.wall.as_secs_f64();
            (ms(b.wall), format!("{ratio:.1}x"))
        } else {
            ("not run".to_owned(), "-".to_owned())
        };
        println!(
            "| {n} | {shape} | {observe_calls} ({}) | {mutate_calls} ({}) | {polls} ({}) | {} | {} | {} | {:.0} | {} | {} | {:.2} | {} | {:.0} | {baseline} | {speedup} |",
            min.observe,
            min.mutate,
            min.polls,
            ms(plan.wall),
            ms(min.observe_floor),
            ms(plan.cpu),
            plan.max_rss_mb,
            ms(apply.wall),
            ms(min.apply_floor),
            apply.wall.as_secs_f64() / min.apply_floor.as_secs_f64(),
            ms(apply.cpu),
            apply.max_rss_mb,
        );
        notes.push(format!(
            "{n} phones, {shape}: apply calls by route: {:?}",
            apply.calls
        ));
    }
    println!();
    for note in notes {
        println!("- {note}");
    }
    // The simulator's own service time, at the largest size, with no added latency.
    let big = *a.sizes.iter().max().unwrap_or(&100_000);
    let f = fleet(big, "http://127.0.0.1:1", false);
    let sim = rt
        .block_on(Simulator::start(
            ([127, 0, 0, 1], 0).into(),
            f.fixture,
            SimConfig {
                transition: Duration::ZERO,
                ..SimConfig::default()
            },
        ))
        .unwrap();
    let (list, status) = simulator_cost(&rt, &sim);
    println!(
        "- simulator holding {big} phones, no added latency: 200-phone list page {:.2} ms, 100-id status call {:.2} ms (mean of 200 calls each, client round trip included)",
        list.as_secs_f64() * 1000.0,
        status.as_secs_f64() * 1000.0
    );
    rt.block_on(async { sim.stop().await });
    pipeline(&rt, latency);
}
