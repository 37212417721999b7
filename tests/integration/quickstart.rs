//! The README's quickstart, run exactly as the README writes it (with the built binary in place of
//! `cargo run --release --`), in a fresh directory, and its shown output checked against the real one.

use std::path::Path;

use crate::support::pf;

/// The commands of the README's Quickstart section that start with `cargo run --release -- `, with the
/// output block that follows each.
fn quickstart() -> Vec<(Vec<String>, String)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = readme
        .split("## Quickstart")
        .nth(1)
        .expect("README has a Quickstart section");
    let section = section.split("\n## ").next().unwrap();
    let mut out = Vec::new();
    let mut lines = section.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim().strip_prefix("$ cargo run --release -- ") else {
            continue;
        };
        let args: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
        let mut shown = String::new();
        while let Some(l) = lines.peek() {
            if l.starts_with("```") || l.trim_start().starts_with("$ ") {
                break;
            }
            shown.push_str(lines.next().unwrap());
            shown.push('\n');
        }
        out.push((args, shown));
    }
    out
}

#[test]
fn the_readme_quickstart_works_in_a_fresh_directory() {
    let steps = quickstart();
    assert!(
        steps.len() >= 2,
        "the quickstart shows apply and plan: {steps:?}"
    );
    assert_eq!(steps[0].0[0], "apply");
    let dir = tempfile::tempdir().unwrap();
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml");
    std::fs::copy(src, examples.join("quickstart.yaml")).unwrap();
    for (args, shown) in steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = pf(&args).dir(dir.path()).run();
        out.code(0);
        let both = format!("{}{}", out.stderr, out.stdout);
        for line in shown.lines().filter(|l| !l.trim().is_empty()) {
            assert!(
                both.contains(line.trim_end()),
                "README shows `{line}`, the run printed:\n{both}"
            );
        }
    }
    assert!(dir.path().join(".phonefleet/simulator.json").exists());
}

#[test]
fn simulate_reset_starts_the_sandbox_over() {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml");
    std::fs::copy(src, dir.path().join("q.yaml")).unwrap();
    pf(&["apply", "--simulate", "q.yaml", "--auto-approve"])
        .dir(dir.path())
        .run()
        .code(0);
    pf(&["plan", "--simulate", "q.yaml", "--detailed-exitcode"])
        .dir(dir.path())
        .run()
        .code(0);
    pf(&[
        "plan",
        "--simulate",
        "--simulate-reset",
        "q.yaml",
        "--detailed-exitcode",
    ])
    .dir(dir.path())
    .run()
    .code(2)
    .stdout_has("to start");
    // A saved plan made in the sandbox applies in the sandbox.
    let out = pf(&["plan", "--simulate", "q.yaml", "--out", "p.json"])
        .dir(dir.path())
        .run();
    out.code(0)
        .stderr_has("apply it with `phonefleet apply p.json --simulate`");
    pf(&["apply", "--simulate", "p.json"])
        .dir(dir.path())
        .run()
        .code(0)
        .stdout_has("0 failed");
    pf(&["show", "p.json", "--simulate"])
        .dir(dir.path())
        .run()
        .code(0);
}
