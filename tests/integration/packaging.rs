//! Packaging for CI: the action's install script against a fake release (checksums checked, a
//! build from source when no binary matches), its run script against the simulator, the action's and
//! the examples' commands, the Dockerfile, `validate --format github` / `--json`, and
//! `apply --detailed-exitcode`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{Dir, Sim, pf, providers};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A fake release `v9.9.9` with a Linux x86_64 archive holding a script that says its version.
fn fake_release(dir: &Path, tamper: bool) -> PathBuf {
    let base = dir.join("releases");
    let release = base.join("v9.9.9");
    std::fs::create_dir_all(&release).unwrap();
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(
        staging.join("phonefleet"),
        "#!/bin/sh\necho phonefleet 9.9.9\n",
    )
    .unwrap();
    let archive = release.join("phonefleet-x86_64-unknown-linux-musl.tar.gz");
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&staging)
        .arg("phonefleet")
        .status()
        .unwrap();
    assert!(ok.success());
    let mut sum = sha256(&archive);
    if tamper {
        sum = sum.replace(&sum[..4], "0000");
    }
    std::fs::write(
        release.join("SHA256SUMS"),
        format!("{sum}  phonefleet-x86_64-unknown-linux-musl.tar.gz\n"),
    )
    .unwrap();
    base
}

/// Run the action's install script for `os`/`arch` against `base`.
fn install(dir: &Path, base: &Path, os: &str, arch: &str, path: &str) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg(root().join("action/install.sh"))
        .env("PHONEFLEET_VERSION", "v9.9.9")
        .env("PHONEFLEET_REPOSITORY", "your-org/phonefleet")
        .env("PHONEFLEET_RELEASE_BASE", base)
        .env("PHONEFLEET_INSTALL_DIR", dir.join("bin"))
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("GITHUB_PATH", dir.join("github_path"))
        .env("PATH", path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_action_installs_a_verified_release_binary_and_builds_only_when_none_matches() {
    let dir = tempfile::tempdir().unwrap();
    let base = fake_release(dir.path(), false);
    let path = std::env::var("PATH").unwrap();
    let (code, stdout, stderr) = install(dir.path(), &base, "Linux", "X64", &path);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("installed phonefleet v9.9.9 (x86_64-unknown-linux-musl, sha256 "),
        "{stderr}"
    );
    let bin = dir.path().join("bin");
    assert_eq!(stdout.trim(), bin.display().to_string());
    let version = Command::new(bin.join("phonefleet")).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        "phonefleet 9.9.9\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("github_path"))
            .unwrap()
            .trim(),
        bin.display().to_string()
    );

    // A tampered archive is refused, nothing installed.
    let bad = tempfile::tempdir().unwrap();
    let base = fake_release(bad.path(), true);
    let (code, _, stderr) = install(bad.path(), &base, "Linux", "X64", &path);
    assert_eq!(code, 1);
    assert!(stderr.contains("does not match its SHA256SUMS"), "{stderr}");
    assert!(!bad.path().join("bin/phonefleet").exists());

    // No binary for this platform: cargo builds it (a fake cargo records how it was asked).
    let other = tempfile::tempdir().unwrap();
    let base = fake_release(other.path(), false);
    let tools = other.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let cargo = tools.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho \"$@\" > \"$CARGO_ARGS\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && printf '#!/bin/sh\\necho built\\n' > \"$root/bin/phonefleet\" && chmod +x \"$root/bin/phonefleet\"\n",
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&cargo)
        .status()
        .unwrap();
    let args_file = other.path().join("cargo-args");
    let out = Command::new("bash")
        .arg(root().join("action/install.sh"))
        .env("PHONEFLEET_VERSION", "v9.9.9")
        .env("PHONEFLEET_REPOSITORY", "your-org/phonefleet")
        .env("PHONEFLEET_RELEASE_BASE", &base)
        .env("PHONEFLEET_INSTALL_DIR", other.path().join("bin"))
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "ARM64")
        .env("CARGO_ARGS", &args_file)
        .env("PATH", format!("{}:{path}", tools.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no phonefleet release binary for aarch64-unknown-linux-gnu at version v9.9.9; building from source"), "{stderr}");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(
        args.contains("install --locked --root")
            && args
                .contains("--git https://github.com/your-org/phonefleet --tag v9.9.9 phonefleet"),
        "{args}"
    );
    let built = Command::new(other.path().join("bin/phonefleet"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&built.stdout), "built\n");
}

/// The action's run script, with the real binary on PATH, against the simulator: outputs as documented.
#[test]
fn the_action_runs_plan_drift_apply_and_validate_and_sets_its_outputs() {
    let sim = Sim::start(
        "phones:
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: stopped}
",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, name: growth-1, state: stopped}}\n  - {{id: g2, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    let bin = Path::new(env!("CARGO_BIN_EXE_phonefleet"))
        .parent()
        .unwrap()
        .to_owned();
    let run = |command: &str, extra: &[(&str, &str)]| -> (i32, String, String) {
        let outputs = dir.path(&format!("{command}.out"));
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("action/run.sh"))
            .current_dir(dir.dir.path())
            .env("COMMAND", command)
            .env("SPEC", dir.spec())
            .env("PLAN_FILE", dir.path("plan.json"))
            .env("COMMENT_FILE", dir.path("comment.md"))
            .env("GITHUB_OUTPUT", &outputs)
            .env("PHONEFLEET_GL_TOKEN", crate::support::token_of("gl"))
            .env("PHONEFLEET_CPH_TOKEN", crate::support::token_of("cph"))
            .env("PHONEFLEET_KP_TOKEN", crate::support::token_of("kp"))
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            std::fs::read_to_string(&outputs).unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, outputs, _) = run("validate", &[]);
    assert_eq!(code, 0);
    assert!(outputs.contains("exitcode=0\n"), "{outputs}");
    let (code, outputs, _) = run("plan", &[]);
    assert_eq!(code, 0, "2 (changes) is a successful plan: {outputs}");
    for want in ["exitcode=2\n", "changes=true\n", "stops=1\n", "plan-file="] {
        assert!(outputs.contains(want), "{want}: {outputs}");
    }
    let comment = dir.read("comment.md");
    assert!(comment.starts_with("<!-- phonefleet-plan -->"), "{comment}");
    assert!(
        comment.contains("This plan **stops 1 phone**: growth-1"),
        "{comment}"
    );
    let (code, outputs, _) = run("drift", &[]);
    assert_eq!(code, 0);
    assert!(outputs.contains("changes=true\n"), "{outputs}");
    let (code, outputs, _) = run("apply", &[]);
    assert_eq!(code, 0, "{outputs}");
    assert!(
        outputs.contains("exitcode=2\n") && outputs.contains("changes=true\n"),
        "{outputs}"
    );
    let (code, outputs, _) = run("drift", &[]);
    assert_eq!(code, 0);
    assert!(
        outputs.contains("exitcode=0\n") && outputs.contains("changes=false\n"),
        "{outputs}"
    );
    let (code, outputs, _) = run("nonsense", &[]);
    assert_eq!(code, 1);
    assert!(outputs.contains("exitcode=1\n"), "{outputs}");
}

#[test]
fn apply_detailed_exitcode_tells_applied_from_nothing_to_apply() {
    let sim = Sim::start(
        "phones:\n  - {provider: geelark, id: g1, status: running}\n  - {provider: geelark, id: g2, status: running, busy: remote}\n",
    );
    let dir = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g1, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--detailed-exitcode",
    ])
    .run()
    .code(2);
    pf(&[
        "apply",
        &dir.spec(),
        "--auto-approve",
        "--detailed-exitcode",
    ])
    .run()
    .code(0);
    let failing = Dir::with_spec(&format!(
        "{}phones:\n  - {{id: g2, provider: gl, state: stopped}}\n",
        providers(&sim.url())
    ));
    pf(&[
        "apply",
        &failing.spec(),
        "--auto-approve",
        "--detailed-exitcode",
    ])
    .run()
    .code(1);
}

#[test]
fn validate_writes_github_annotations_and_json() {
    let dir = Dir::with_spec(
        "version: 1
providers:
  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}
phones:
  - {id: g1, provider: gl, state: runing}
  - {id: g2, provider: nope}
",
    );
    let good = dir.write(
        "good.yaml",
        "version: 1\nproviders:\n  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}\nphones:\n  - {id: g1, provider: gl}\n",
    );
    let out = pf(&["validate", "--format", "github", &dir.spec(), &good]).run();
    out.code(1);
    let annotations: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(annotations.len(), 2, "{}", out.stdout);
    let spec = dir.spec();
    assert!(
        annotations[0].starts_with(&format!("::error file={spec},line=5,col=")),
        "{}",
        out.stdout
    );
    assert!(
        annotations[0].contains("title=phonefleet validate::phones[0].state:"),
        "{}",
        out.stdout
    );
    assert!(annotations[1].contains(",line=6,"), "{}", out.stdout);
    out.stderr_has("good.yaml: valid (1 provider, 1 phone)")
        .stderr_has("error: 2 problems found");
    let json: Value = pf(&["validate", "--json", &dir.spec(), &good])
        .run()
        .code(1)
        .json();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["valid"], false);
    assert_eq!(json["files"][1]["valid"], true);
    assert_eq!(json["files"][1]["phones"], 1);
    assert_eq!(json["problems"][0]["line"], 5);
    assert_eq!(json["problems"][0]["path"], "phones[0].state");
    assert!(
        json["problems"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("running")
    );
    pf(&["validate", "--json", &good]).run().code(0);
}

/// The action's steps call scripts that exist and are executable, and its outputs come from the step
/// that sets them; the pre-commit hook and the GitLab example run commands that parse.
#[test]
fn the_action_the_hook_and_the_gitlab_example_hold_together() {
    use clap::Parser;
    let action: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join("action.yml")).unwrap()).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    for step in steps {
        assert_eq!(step["shell"], "bash", "{step:?}");
        let run = step["run"].as_str().unwrap();
        let script = run.trim_matches('"').replace("$GITHUB_ACTION_PATH/", "");
        let path = root().join(&script);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|_| panic!("{script}"))
            .permissions();
        use std::os::unix::fs::PermissionsExt;
        assert!(mode.mode() & 0o111 != 0, "{script} is not executable");
        let ok = Command::new("bash").arg("-n").arg(&path).status().unwrap();
        assert!(ok.success(), "{script} does not parse");
    }
    for (name, output) in action["outputs"].as_mapping().unwrap() {
        let value = output["value"].as_str().unwrap();
        assert!(
            value.starts_with("${{ steps.run.outputs."),
            "{name:?}: {value}"
        );
    }
    for input in ["command", "spec", "version", "args"] {
        assert!(action["inputs"][input].is_mapping(), "input {input}");
    }
    // The commands run.sh runs parse.
    let run = std::fs::read_to_string(root().join("action/run.sh")).unwrap();
    let mut commands = 0;
    for line in run.lines() {
        let Some(rest) = line.trim().strip_prefix("phonefleet ") else {
            continue;
        };
        let args: Vec<String> = std::iter::once("phonefleet".to_owned())
            .chain(
                rest.split_whitespace()
                    .take_while(|w| !w.starts_with('>') && !w.starts_with('|') && *w != "\\")
                    .filter(|w| !w.starts_with("${"))
                    .map(|w| {
                        w.replace("\"$SPEC\"", "fleet")
                            .replace("\"$plan_file\"", "plan.json")
                    }),
            )
            .collect();
        phonefleet::cli::Cli::try_parse_from(&args)
            .unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")));
        commands += 1;
    }
    assert!(commands >= 4, "{commands}");
    // The pre-commit hook.
    let hooks: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(hooks[0]["id"], "phonefleet-validate");
    let entry: Vec<&str> = hooks[0]["entry"].as_str().unwrap().split(' ').collect();
    phonefleet::cli::Cli::try_parse_from(entry.iter().copied().chain(["fleet.yaml"])).unwrap();
    // The GitLab example: plan, apply and drift jobs running real commands.
    let text = std::fs::read_to_string(root().join("examples/ci/gitlab-ci.yml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for job in ["plan", "apply", "drift"] {
        assert!(doc[job]["script"].is_sequence(), "job {job}");
    }
    assert_eq!(doc["apply"]["resource_group"], "phonefleet-apply");
    assert!(text.contains("--markdown --out plan.json --detailed-exitcode"));
    assert!(text.contains("phonefleet apply plan.json --canary 5 --detailed-exitcode"));
}

/// The image: a build stage that makes the release binary, a distroless runtime as a non-root user with
/// phonefleet as its entrypoint. No base image can be pulled here: what can run is the binary itself.
#[test]
fn the_dockerfile_copies_the_release_binary_into_a_non_root_runtime() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "{text}");
    assert!(stages[0].contains(" AS build"));
    assert!(text.contains("cargo build --release --locked --bin phonefleet"));
    assert!(text.contains("COPY --from=build /phonefleet /phonefleet"));
    assert!(text.contains("USER nonroot:nonroot"));
    assert!(text.contains("ENTRYPOINT [\"/phonefleet\"]"));
    let version = pf(&["--version"]).run();
    version
        .code(0)
        .stdout_has(&format!("phonefleet {}", env!("CARGO_PKG_VERSION")));
}
