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
fn usage_errors_exit_1_with_clap_s_message() {
    // 2 is reserved for drift under --detailed-exitcode: a typo in a workflow must fail it.
    for (args, says) in [
        (&["frobnicate"][..], "unrecognized subcommand 'frobnicate'"),
        (&["plna", "x.yaml"][..], "unrecognized subcommand 'plna'"),
        (
            &["plan", "--markdwn", "x.yaml"][..],
            "unexpected argument '--markdwn'",
        ),
        (&["plan"][..], "required arguments were not provided"),
        (
            &["apply", "x.yaml", "--max-batch", "0"][..],
            "invalid value '0'",
        ),
        (
            &["plan", "x.yaml", "--timeout", "soon"][..],
            "invalid value 'soon'",
        ),
        (&[][..], "Usage:"),
    ] {
        pf(args).run().code(1).no_panic().stderr_has(says);
    }
    pf(&["--version"]).run().code(0);
    pf(&["plan", "--help"]).run().code(0);
}

/// Every code of the README's table: 0, 1 and 2 here; 130 and 143 in
/// `apply::ctrl_c_stops_new_batches_reports_and_exits_130` and
/// `isolation::sigterm_stops_new_batches_reports_and_exits_143`.
#[test]
fn exit_codes_of_the_readme_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for code in ["| 0 |", "| 1 |", "| 2 |", "| 130 |", "| 143 |"] {
        assert!(readme.contains(code), "README lacks {code}");
    }
    let sim =
        crate::support::Sim::start("phones:\n  - {provider: geelark, id: g1, status: running}\n");
    let drifted = crate::support::Dir::with_spec(&crate::support::one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: stopped}\n",
    ));
    let in_sync = crate::support::Dir::with_spec(&crate::support::one_provider(
        "geelark",
        &sim.url(),
        "  - {id: g1, provider: gl, state: running}\n",
    ));
    pf(&["plan", &in_sync.spec(), "--detailed-exitcode"])
        .run()
        .code(0);
    pf(&["plan", &drifted.spec(), "--detailed-exitcode"])
        .run()
        .code(2);
    pf(&["plan", &drifted.spec()]).run().code(0);
    pf(&["validate", "no-such-file.yaml"]).run().code(1);
    pf(&["plan", "--detailed-exitcode", "no-such-file.yaml"])
        .run()
        .code(1);
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
    // One page: each subcommand's synopsis and options in it, and no page named that does not exist.
    let man = pf(&["man"]).run();
    man.code(0)
        .stdout_has(".TH phonefleet 1")
        .stdout_has(".SH \"PHONEFLEET PLAN\"")
        .stdout_has(".SH \"PHONEFLEET SIMULATE\"")
        .stdout_has("detailed\\-exitcode")
        .stdout_has("auto\\-approve")
        .stdout_has("hang\\-after");
    assert!(
        !man.stdout.contains("phonefleet\\-plan(1)") && !man.stdout.contains("phonefleet-plan(1)")
    );
}

/// Help examples fit an 80-column terminal, so that no example wraps in the middle of a command.
#[test]
fn help_examples_fit_80_columns() {
    for sub in [
        "",
        "validate",
        "schema",
        "plan",
        "show",
        "apply",
        "export",
        "completions",
        "man",
        "simulate",
    ] {
        let args: &[&str] = if sub.is_empty() {
            &["--help"]
        } else {
            &[sub, "--help"]
        };
        let out = pf(args).env("COLUMNS", "80").run();
        out.code(0);
        let examples = out
            .stdout
            .split("Example")
            .nth(1)
            .expect("examples in the help");
        for line in examples.lines() {
            assert!(line.chars().count() <= 80, "`{sub} --help`: {line:?}");
        }
    }
}

/// The example workflow is valid YAML, has the three jobs, and every phonefleet command in it parses.
#[test]
fn the_github_actions_example_uses_the_action_with_a_concurrency_group_per_job() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci/github-actions.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let uses = |job: &str| -> Vec<String> {
        doc["jobs"][job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("your-org/phonefleet@"))
            })
            .map(|s| s["with"]["command"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(uses("plan"), ["validate", "plan"]);
    assert_eq!(uses("apply"), ["apply"]);
    assert_eq!(uses("drift"), ["drift"]);
    // Each pull request's plan in its own group (cancel in progress); apply never cancelled; drift apart.
    let group = |job: &str| doc["jobs"][job]["concurrency"].clone();
    assert_eq!(
        group("plan")["group"],
        "phonefleet-plan-${{ github.event.pull_request.number }}"
    );
    assert_eq!(group("plan")["cancel-in-progress"], true);
    assert_eq!(group("apply")["group"], "phonefleet-apply");
    assert_eq!(group("apply")["cancel-in-progress"], false);
    assert_eq!(group("drift")["group"], "phonefleet-drift");
    assert!(
        doc["concurrency"].is_null(),
        "no workflow-wide group: a plan never cancels an apply"
    );
    assert!(text.contains("base-spec: ${{ runner.temp }}/base/${{ env.SPEC }}"));
    assert!(text.contains(
        "gh issue list --repo \"$GITHUB_REPOSITORY\" --label phonefleet-drift --state open"
    ));
    assert!(
        text.contains(
            "tip=$(gh api \"repos/$GITHUB_REPOSITORY/commits/$GITHUB_REF_NAME\" --jq .sha)"
        )
    );
    // Credentials by job: nothing at workflow level, nothing granted by default; the write credentials
    // only in the apply job, which alone names the protected environment; the plan and drift jobs
    // read with read-only credentials.
    assert_eq!(
        doc["permissions"],
        serde_yaml::from_str::<serde_yaml::Value>("{}").unwrap()
    );
    assert!(
        !serde_yaml::to_string(&doc["env"])
            .unwrap()
            .contains("secrets.")
    );
    let secrets_of = |job: &str| -> Vec<String> {
        let text = serde_yaml::to_string(&doc["jobs"][job]).unwrap();
        text.split("secrets.")
            .skip(1)
            .map(|s| {
                s.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let write = [
        "HUAWEICLOUD_SDK_AK",
        "HUAWEICLOUD_SDK_SK",
        "GEELARK_TOKEN",
        "KOOPHONE_TOKEN",
    ];
    for job in ["plan", "drift"] {
        for s in secrets_of(job) {
            assert!(
                !write.contains(&s.as_str()),
                "{job} holds write credential {s}"
            );
        }
        assert!(doc["jobs"][job]["environment"].is_null(), "{job}");
    }
    assert!(
        write
            .iter()
            .all(|w| secrets_of("apply").iter().any(|s| s == w))
    );
    assert_eq!(doc["jobs"]["apply"]["environment"], "fleet");
    for job in ["plan", "apply", "drift"] {
        assert!(
            doc["jobs"][job]["permissions"].is_mapping(),
            "{job}: permissions per job"
        );
        for step in doc["jobs"][job]["steps"].as_sequence().unwrap() {
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses.starts_with("actions/checkout@") {
                assert_eq!(step["with"]["persist-credentials"], false, "{job}");
            }
            // Third-party actions by commit, the version in a comment.
            if !uses.is_empty() && !uses.starts_with("your-org/phonefleet@") {
                let sha = uses.split('@').nth(1).unwrap();
                assert!(
                    sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                    "{uses}"
                );
                assert!(text.contains(&format!("{uses} # v")), "{uses}");
            }
        }
    }
    assert_eq!(doc["jobs"]["plan"]["permissions"]["pull-requests"], "write");
    assert!(doc["jobs"]["plan"]["permissions"]["issues"].is_null());
}

/// The deployment examples run commands that parse: the systemd unit's ExecStart and the Kubernetes
/// container's args.
#[test]
fn the_deployment_examples_use_real_commands() {
    use clap::Parser;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/deploy");
    let unit = std::fs::read_to_string(root.join("phonefleet-watch.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert!(args[0].ends_with("/phonefleet"));
    phonefleet::cli::Cli::try_parse_from(
        std::iter::once("phonefleet").chain(args[1..].iter().copied()),
    )
    .unwrap_or_else(|e| panic!("{exec}: {e}"));
    let k8s: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(
        &std::fs::read_to_string(root.join("kubernetes.yaml")).unwrap(),
    )
    .map(|d| serde::Deserialize::deserialize(d).unwrap())
    .collect();
    let container = &k8s[0]["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    phonefleet::cli::Cli::try_parse_from(std::iter::once("phonefleet".to_owned()).chain(args))
        .unwrap_or_else(|e| panic!("kubernetes.yaml args: {e}"));
    assert_eq!(k8s[0]["spec"]["replicas"], 1);
    assert_eq!(
        container["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
}
