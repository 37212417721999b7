//! Test support: a fluent builder that runs the real binary, and an in-process simulator on port 0.

#![allow(dead_code)]

pub mod fake;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use phonefleet::simulator::{Fixture, SimConfig, Simulator};

/// Secret values the tests hand to the binary; no output, log or file may contain them.
pub const CPH_TOKEN: &str = "cph-secret-token-7f3a9c";
pub const GL_TOKEN: &str = "gl-secret-token-5b2e8d";
pub const KP_TOKEN: &str = "kp-secret-token-1c4f6a";

/// A command being built.
pub struct Cmd {
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    stdin: Option<String>,
    stdout: Option<PathBuf>,
    max_open_files: Option<u64>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Assert the exit code, showing the output when it is wrong.
    #[track_caller]
    pub fn code(&self, want: i32) -> &Out {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
    #[track_caller]
    pub fn stdout_has(&self, s: &str) -> &Out {
        assert!(
            self.stdout.contains(s),
            "stdout lacks {s:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Out {
        assert!(
            self.stderr.contains(s),
            "stderr lacks {s:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    /// Like [`Out::stdout_has`], with line breaks and the indentation of wrapped lines read as one
    /// space (text output wraps long lines to the width).
    #[track_caller]
    pub fn stdout_has_text(&self, s: &str) -> &Out {
        let flat = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let (have, want) = (flat(&self.stdout), flat(s));
        // A word cut at the line's end (a long URL) is joined again without a space.
        let joined = self.stdout.replace("\n    ", "");
        assert!(
            have.contains(&want) || flat(&joined).contains(&want),
            "stdout lacks {s:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    /// Parse stdout as JSON into a type of the test's own.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not the JSON expected: {e}\n{}", self.stdout))
    }
    /// Neither stream mentions a panic.
    #[track_caller]
    pub fn no_panic(&self) -> &Out {
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        self
    }
}

/// `phonefleet ARGS...`.
pub fn pf(args: &[&str]) -> Cmd {
    Cmd {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        env: vec![
            ("PHONEFLEET_CPH_TOKEN".into(), CPH_TOKEN.into()),
            ("PHONEFLEET_GEELARK_TOKEN".into(), GL_TOKEN.into()),
            ("PHONEFLEET_KOOPHONE_TOKEN".into(), KP_TOKEN.into()),
        ],
        dir: None,
        stdin: None,
        stdout: None,
        max_open_files: None,
    }
}

impl Cmd {
    pub fn arg(mut self, a: impl AsRef<str>) -> Cmd {
        self.args.push(a.as_ref().to_owned());
        self
    }
    pub fn args(mut self, more: &[&str]) -> Cmd {
        self.args.extend(more.iter().map(|s| (*s).to_owned()));
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Cmd {
        self.env.push((k.into(), v.into()));
        self
    }
    /// Run with at most `n` open files (the soft and hard `RLIMIT_NOFILE`), as a service often runs.
    pub fn max_open_files(mut self, n: u64) -> Cmd {
        self.max_open_files = Some(n);
        self
    }
    pub fn dir(mut self, d: &Path) -> Cmd {
        self.dir = Some(d.to_owned());
        self
    }
    pub fn stdin(mut self, s: &str) -> Cmd {
        self.stdin = Some(s.into());
        self
    }
    /// Send stdout to this file (`/dev/full` for a disk that is full).
    pub fn stdout_to(mut self, path: &str) -> Cmd {
        self.stdout = Some(path.into());
        self
    }
    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_phonefleet"));
        c.args(&self.args);
        for k in [
            "NO_COLOR",
            "HUAWEICLOUD_SDK_AK",
            "HUAWEICLOUD_SDK_SK",
            "HUAWEICLOUD_SDK_SECURITY_TOKEN",
            "GEELARK_TOKEN",
            "KOOPHONE_TOKEN",
        ] {
            c.env_remove(k);
        }
        // Lock files and caches go to this test run's own folder, never the developer's
        // `$XDG_RUNTIME_DIR` or `~/.cache` (a test that shares a lock directory between two runs sets
        // its own below).
        c.env("XDG_RUNTIME_DIR", scratch().join("runtime"));
        c.env("XDG_CACHE_HOME", scratch().join("cache"));
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(d) = &self.dir {
            c.current_dir(d);
        }
        c.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        match &self.stdout {
            Some(path) => c.stdout(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .expect("the stdout file opens"),
            ),
            None => c.stdout(Stdio::piped()),
        };
        c.stderr(Stdio::piped());
        if let Some(n) = self.max_open_files {
            limit_open_files(&mut c, n);
        }
        c
    }
    /// Run to completion, but fail the test (killing the child) if it has not ended within `limit`:
    /// for runs that must end by their own deadline.
    pub fn run_within(self, limit: Duration) -> Out {
        use std::io::Read;
        let mut child = self.command().spawn().expect("the binary starts");
        let pipe = |p: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                if let Some(mut p) = p {
                    let _ = p.read_to_string(&mut text);
                }
                text
            })
        };
        let stdout = pipe(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = pipe(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the run did not end within {limit:?}: it ignored its deadline");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Out {
            code: status.code().unwrap_or(-1),
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }
    /// Run to completion.
    pub fn run(self) -> Out {
        let mut child = self.command().spawn().expect("the binary starts");
        if let Some(s) = &self.stdin {
            child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    /// Start without waiting.
    pub fn spawn(self) -> std::process::Child {
        self.command().spawn().expect("the binary starts")
    }
}

/// A folder of this test run for what the binary keeps between runs (locks, caches).
fn scratch() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("phonefleet-tests-")
            .tempdir()
            .expect("a temporary folder")
    })
    .path()
}

/// Set the child's `RLIMIT_NOFILE` to `n` before it runs.
#[allow(unsafe_code)]
fn limit_open_files(c: &mut Command, n: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        c.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: n as libc::rlim_t,
                rlim_max: n as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Send a signal to a child process (Ctrl-C is SIGINT).
#[allow(unsafe_code)]
pub fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid with a valid signal number.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill failed");
}

/// Run `cmd`, send it `sig` once a stderr line starting with `line` appears (and `after` has passed),
/// and return what it produced.
pub fn signal_when(cmd: Cmd, line: &'static str, after: Duration, sig: i32) -> Out {
    use std::io::Read;
    let mut child = cmd.spawn();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for l in std::io::BufReader::new(stderr).lines() {
            let l = l.unwrap();
            if l.starts_with(line) {
                let _ = tx.send(());
            }
            all.push_str(&l);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no line starting with {line:?}"));
    std::thread::sleep(after);
    signal(&child, sig);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    Out {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: reader.join().unwrap(),
    }
}

/// Wait for a child and return its exit code and peak memory (max RSS, KiB), from wait4(2).
#[allow(unsafe_code)]
pub fn wait_with_rusage(child: &std::process::Child) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child's pid with valid pointers.
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(rc, child.id() as i32, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss)
}

/// The output of a child already reaped by [`wait_with_rusage`].
pub fn collect(mut child: std::process::Child, code: i32) -> Out {
    use std::io::Read;
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut stdout).unwrap();
    }
    if let Some(mut s) = child.stderr.take() {
        s.read_to_string(&mut stderr).unwrap();
    }
    Out {
        code,
        stdout,
        stderr,
    }
}

/// A simulator running in this process on 127.0.0.1:0, with its own runtime.
pub struct Sim {
    rt: tokio::runtime::Runtime,
    sim: Option<Simulator>,
}

impl Sim {
    /// Start from fixture YAML with a quick default transition.
    pub fn start(fixture_yaml: &str) -> Sim {
        Sim::with(
            fixture_yaml,
            SimConfig {
                transition: Duration::from_millis(150),
                ..SimConfig::default()
            },
        )
    }

    /// A simulator whose transitions and jobs take `ms` milliseconds.
    pub fn with_transition(fixture_yaml: &str, ms: u64) -> Sim {
        Sim::with(
            fixture_yaml,
            SimConfig {
                transition: Duration::from_millis(ms),
                ..SimConfig::default()
            },
        )
    }

    pub fn with(fixture_yaml: &str, config: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        Sim::on(rt, fixture_yaml, config)
    }

    /// The simulator started on `rt`.
    fn on(rt: tokio::runtime::Runtime, fixture_yaml: &str, config: SimConfig) -> Sim {
        let fixture: Fixture = serde_yaml::from_str(fixture_yaml).expect("test fixture parses");
        let sim = rt
            .block_on(Simulator::start(
                ([127, 0, 0, 1], 0).into(),
                fixture,
                config,
            ))
            .unwrap();
        Sim { rt, sim: Some(sim) }
    }

    /// A simulator on tokio's paused clock, for tests in process: its runtime runs only while a test
    /// drives it ([`Sim::block_on`]), and every wait of the client and every transition of the
    /// simulator passes on the same virtual clock, so retries, backoff and convergence polls take no
    /// real time. Not for tests of the binary, which needs a simulator that runs on its own.
    pub fn paused(fixture_yaml: &str, config: SimConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        Sim::on(rt, fixture_yaml, config)
    }

    pub fn url(&self) -> String {
        self.sim.as_ref().unwrap().base_url()
    }

    /// Calls per documented route so far.
    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.sim.as_ref().unwrap().stats().1
    }

    /// Calls to routes that change something.
    pub fn mutating_calls(&self) -> u64 {
        self.stats()
            .iter()
            .filter(|(route, _)| phonefleet::simulator::is_mutating_route(route))
            .map(|(_, n)| n)
            .sum()
    }

    /// Every change call so far, with the jobs running when it arrived.
    pub fn log(&self) -> Vec<phonefleet::simulator::CallLog> {
        self.sim.as_ref().unwrap().log()
    }

    /// Every change call so far as (the route's last segment, the ids): `("batch-stop", ["c1"])`.
    pub fn calls(&self) -> Vec<(String, Vec<String>)> {
        self.log()
            .into_iter()
            .map(|c| {
                let route = c.route.rsplit('/').next().unwrap_or_default().to_owned();
                (route, c.ids)
            })
            .collect()
    }

    /// `GET /_sim/phones`, keyed by id.
    pub fn phones(&self) -> BTreeMap<String, serde_json::Value> {
        let url = format!("{}/_sim/phones", self.url());
        let v: serde_json::Value = self
            .rt
            .block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p.clone()))
            .collect()
    }

    /// Run an async block on the simulator's runtime (for raw HTTP conformance checks).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.rt.block_on(sim.stop());
        }
    }
}

/// A spec with one provider of `kind` at `url` (named `cph`, `gl` or `kp`, as in [`providers`], with the
/// same token variable), and these `phones` entries.
pub fn one_provider(kind: &str, url: &str, phones: &str) -> String {
    let (name, var, extra) = match kind {
        "huawei-cph" => ("cph", "PHONEFLEET_CPH_TOKEN", "    project_id: p1\n"),
        "geelark" => ("gl", "PHONEFLEET_GEELARK_TOKEN", ""),
        _ => ("kp", "PHONEFLEET_KOOPHONE_TOKEN", ""),
    };
    format!(
        "version: 1\nproviders:\n  {name}:\n    kind: {kind}\n{extra}    endpoint: {url}\n    \
         credentials: {{token_env: {var}}}\nphones:\n{phones}"
    )
}

/// The providers block of a spec pointing every provider at the simulator, with token credentials.
pub fn providers(url: &str) -> String {
    format!(
        "version: 1
providers:
  cph:
    kind: huawei-cph
    project_id: p1
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_CPH_TOKEN}}
  gl:
    kind: geelark
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_GEELARK_TOKEN}}
  kp:
    kind: koophone
    endpoint: {url}
    credentials: {{token_env: PHONEFLEET_KOOPHONE_TOKEN}}
"
    )
}

/// A temporary directory holding `spec.yaml`.
pub struct Dir {
    pub dir: tempfile::TempDir,
}

impl Dir {
    pub fn with_spec(spec: &str) -> Dir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spec.yaml"), spec).unwrap();
        Dir { dir }
    }
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
    pub fn spec(&self) -> String {
        self.path("spec.yaml")
    }
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self.path(name)
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }
}

/// The token the tests give each provider name of [`providers`] and [`one_provider`].
pub fn token_of(provider: &str) -> &'static str {
    match provider {
        "cph" => CPH_TOKEN,
        "gl" => GL_TOKEN,
        _ => KP_TOKEN,
    }
}

/// Re-seal an edited plan file as an insider who holds the credentials can: with each provider's key.
/// What such a file may still run is decided by re-deriving it from the spec and the fleet.
pub fn reseal(plan: serde_json::Value) -> String {
    use phonefleet::plan::saved::PlanFile;
    use phonefleet::provider::{Auth, Secret};
    let file: PlanFile = serde_json::from_value(plan).expect("still a plan file");
    let keys = file
        .providers
        .keys()
        .map(|n| (n.clone(), Auth::Token(Secret::new(token_of(n))).plan_key()))
        .collect();
    serde_json::to_string_pretty(&file.sealed(&keys).unwrap()).unwrap()
}

/// Re-seal an edited plan file as anyone who can read it can: the content digest only (public
/// arithmetic), the seals left as they were.
pub fn redigest(plan: serde_json::Value) -> String {
    use phonefleet::plan::saved::PlanFile;
    let file: PlanFile = serde_json::from_value(plan).expect("still a plan file");
    serde_json::to_string_pretty(&file.digested()).unwrap()
}
