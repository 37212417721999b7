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
        .env("PF_CPH_TOKEN", "t")
        .env("PF_GL_TOKEN", "t")
        .env("PF_KP_TOKEN", "t")
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
        screen.contains("Apply: 5 ok, 0 failed, 3 blocked, 0 skipped."),
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
    let (_, plain) = on_terminal(&["plan", &dir.spec(), "--no-color"], "", &[]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let (_, env_plain) = on_terminal(&["plan", &dir.spec()], "", &[("NO_COLOR", "1")]);
    assert!(!env_plain.contains('\x1b'), "{env_plain:?}");
}
