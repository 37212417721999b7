//! Behaviour on a real terminal, through a pseudo-terminal made by `script` (util-linux/bsdutils):
//! the apply question, and colors.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::plan::{FIXTURE, spec};
use crate::support::{Dir, Sim};

/// Run `phonefleet ARGS` on a pseudo-terminal, typing `input`; the terminal's whole transcript.
fn on_terminal(args: &[&str], input: &str, env: &[(&str, &str)]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_phonefleet");
    let line = std::iter::once(bin.to_owned())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env("PHONEFLEET_CPH_TOKEN", "t")
        .env("PHONEFLEET_GEELARK_TOKEN", "t")
        .env("PHONEFLEET_KOOPHONE_TOKEN", "t")
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("script(1) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn apply_asks_on_a_terminal_and_only_yes_applies() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let (code, screen) = on_terminal(&["apply", &dir.spec()], "no\n", &[]);
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains("Apply these changes? Only 'yes' is accepted:"),
        "{screen}"
    );
    assert!(
        screen.contains("Apply cancelled; nothing was changed."),
        "{screen}"
    );
    assert_eq!(sim.mutating_calls(), 0);
    let (code, screen) = on_terminal(&["apply", &dir.spec()], "yes\n", &[]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("Apply: 5 ok, 0 failed, 3 blocked, 0 skipped (5 changes to 4 phones)."),
        "{screen}"
    );
    assert!(sim.mutating_calls() > 0);
}

#[test]
fn colors_on_a_terminal_unless_told_not_to() {
    let sim = Sim::start(FIXTURE);
    let dir = Dir::with_spec(&spec(&sim.url()));
    let (code, screen) = on_terminal(&["plan", &dir.spec()], "", &[]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("\x1b[32m+state: running\x1b[0m"),
        "{screen:?}"
    );
    // No colors (SGR sequences); the progress bar's cursor movements may remain.
    let colored = |s: &str| {
        s.split('\x1b').skip(1).any(|seq| {
            seq.strip_prefix('[').and_then(|rest| {
                rest.find(|c: char| c.is_ascii_alphabetic())
                    .map(|i| &rest[i..=i])
            }) == Some("m")
        })
    };
    assert!(colored(&screen), "the check sees colors");
    let (_, plain) = on_terminal(&["plan", &dir.spec(), "--no-color"], "", &[]);
    assert!(!colored(&plain), "{plain:?}");
    let (_, env_plain) = on_terminal(&["plan", &dir.spec()], "", &[("NO_COLOR", "1")]);
    assert!(!colored(&env_plain), "{env_plain:?}");
}

/// On a terminal, reads show a bar per provider and apply names its phase; off a terminal, neither.
#[test]
fn progress_is_drawn_on_a_terminal_only() {
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: huawei-cph, id: c1, project_id: p1, status: running}
";
    let sim = Sim::with(
        fixture,
        phonefleet::simulator::SimConfig {
            latency: std::time::Duration::from_millis(400),
            transition: std::time::Duration::from_millis(800),
            ..phonefleet::simulator::SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n  - {{id: c1, provider: cph, state: stopped}}\n",
        crate::support::providers(&sim.url())
    ));
    let (code, screen) = on_terminal(&["plan", &dir.spec()], "", &[]);
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("reading") && screen.contains("/1 ("),
        "{screen}"
    );
    let (code, screen) = on_terminal(&["apply", &dir.spec(), "--auto-approve"], "", &[]);
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("applying ["), "{screen}");
    assert!(
        screen.contains("cph: waiting for 1 jobs") || screen.contains("confirming"),
        "{screen}"
    );
    // `-v` call logs go above the bars, each on a line of its own, never inside a bar's line.
    let (code, screen) = on_terminal(&["plan", &dir.spec(), "-v"], "", &[]);
    assert_eq!(code, 0, "{screen}");
    // What the terminal shows of a line: the text after its last carriage return, without the bars'
    // cursor and erase sequences (ESC [ digits letter).
    let shown = |l: &str| -> String {
        let l = l.trim_end_matches('\r');
        let l = l.rsplit('\r').next().unwrap_or(l);
        let mut out = String::new();
        let mut chars = l.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                chars.next();
                while chars.next().is_some_and(|c| !c.is_ascii_alphabetic()) {}
            } else {
                out.push(c);
            }
        }
        out
    };
    let calls: Vec<String> = screen
        .split('\n')
        .filter(|l| l.contains(" ids="))
        .map(shown)
        .collect();
    assert!(calls.len() >= 2, "{screen:?}");
    for l in &calls {
        assert!(l.starts_with("phonefleet: "), "{l:?} in {screen:?}");
        assert!(!l.contains("reading "), "{l:?}");
    }
    let off = crate::support::pf(&["plan", &dir.spec()]).run();
    assert!(
        !off.stderr.contains("reading ") && !off.stderr.contains("phones ("),
        "{}",
        off.stderr
    );
}

#[test]
fn a_hang_shows_as_calls_in_flight_and_the_time_since_the_last_answer() {
    // The provider answers two calls, then none: the bar keeps saying what is going on.
    let fixture = "phones:
  - {provider: geelark, id: g1, status: running}
";
    let sim = Sim::with(
        fixture,
        phonefleet::simulator::SimConfig {
            hang_after: Some(0),
            ..phonefleet::simulator::SimConfig::default()
        },
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n",
        crate::support::providers(&sim.url())
    ));
    let (code, screen) = on_terminal(&["plan", &dir.spec(), "--timeout", "3"], "", &[]);
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("in flight, no answer yet"), "{screen}");
}
