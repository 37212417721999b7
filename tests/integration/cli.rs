//! The CLI skeleton: version, help for every subcommand, flags, exit codes.

use crate::support::pf;

#[test]
fn version_and_help() {
    pf(&["--version"])
        .run()
        .code(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
    let out = pf(&["--help"]).run();
    out.code(0)
        .stdout_has("Exit codes")
        .stdout_has("phonefleet apply --simulate");
    for sub in ["validate", "schema", "plan", "show", "apply", "simulate"] {
        let out = pf(&[sub, "--help"]).run();
        out.code(0).stdout_has("Example");
    }
    pf(&["plan", "--help"])
        .run()
        .stdout_has("--detailed-exitcode")
        .stdout_has("--no-color")
        .stdout_has("--verbose");
}

#[test]
fn usage_errors_are_not_panics() {
    let out = pf(&["frobnicate"]).run();
    assert_ne!(out.code, 0);
    out.no_panic();
    let out = pf(&["apply", "x.yaml", "--max-batch", "0"]).run();
    assert_ne!(out.code, 0);
    out.no_panic();
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = pf(&["completions", shell]).run();
        out.code(0).stdout_has("phonefleet");
        assert!(
            out.stdout.contains("apply") && out.stdout.contains("detailed-exitcode"),
            "{shell}"
        );
    }
    pf(&["man"])
        .run()
        .code(0)
        .stdout_has(".TH phonefleet 1")
        .stdout_has("simulate");
}

/// The example workflow is valid YAML, has the three jobs, and every phonefleet command in it parses.
#[test]
fn the_github_actions_example_uses_real_commands() {
    use clap::Parser;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for job in ["plan", "apply", "drift"] {
        assert!(doc["jobs"][job]["steps"].is_sequence(), "job {job}");
    }
    let mut commands = 0;
    for line in text.lines() {
        let line = line.trim().trim_start_matches("run: ");
        let Some(rest) = line.strip_prefix("phonefleet ") else {
            continue;
        };
        let args: Vec<String> = std::iter::once("phonefleet".to_owned())
            .chain(
                rest.split_whitespace()
                    .take_while(|w| !w.starts_with('>'))
                    .map(|w| w.replace("\"$SPEC\"", "fleet.yaml")),
            )
            .collect();
        if let Err(e) = phonefleet::cli::Cli::try_parse_from(&args) {
            panic!("`{}` does not parse: {e}", args.join(" "));
        }
        commands += 1;
    }
    assert!(commands >= 4, "found {commands} phonefleet commands");
    assert!(text.contains("--markdown --out plan.json --detailed-exitcode"));
    assert!(text.contains(phonefleet::render::markdown::MARKER));
}
