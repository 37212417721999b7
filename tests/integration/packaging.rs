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
fn the_action_installs_a_verified_release_binary_and_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let base = fake_release(dir.path(), false);
    let path = std::env::var("PATH").unwrap();
    let (code, stdout, stderr) = install(dir.path(), &base, "Linux", "X64", &path);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("installed phonefleet v9.9.9 (x86_64-unknown-linux-musl, sha256 "),
        "{stderr}"
    );
    // No gh on this PATH: the provenance could not be checked, and the installer says so.
    assert!(
        stderr.contains(
            "cannot verify the build provenance of phonefleet v9.9.9: the gh CLI is not installed"
        ),
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

    // With gh: `gh attestation verify` is asked about the archive and this repository; a release it
    // does not vouch for is refused.
    for (verifies, want) in [
        (true, "provenance verified"),
        (false, "has no valid build provenance"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let base = fake_release(dir.path(), false);
        let tools = fake_tool(
            dir.path(),
            "gh",
            &format!(
                "echo \"$@\" >> \"{}/gh.log\"\nexit {}\n",
                dir.path().display(),
                if verifies { 0 } else { 1 }
            ),
        );
        let (code, _, stderr) = install(
            dir.path(),
            &base,
            "Linux",
            "X64",
            &format!("{}:{path}", tools.display()),
        );
        assert_eq!(code, if verifies { 0 } else { 1 }, "{stderr}");
        assert!(stderr.contains(want), "{stderr}");
        assert_eq!(dir.path().join("bin/phonefleet").exists(), verifies);
        let asked = std::fs::read_to_string(dir.path().join("gh.log")).unwrap();
        assert!(
            asked.starts_with("attestation verify ")
                && asked.contains(
                    "phonefleet-x86_64-unknown-linux-musl.tar.gz --repo your-org/phonefleet"
                ),
            "{asked}"
        );
    }

    // No binary for this platform, or a download that fails: an error, never a build in its place.
    let other = tempfile::tempdir().unwrap();
    let base = fake_release(other.path(), false);
    let args_file = other.path().join("cargo-args");
    let tools = fake_cargo(other.path(), &args_file);
    let with_cargo = format!("{}:{path}", tools.display());
    let (code, _, stderr) = install(other.path(), &base, "Linux", "ARM64", &with_cargo);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "cannot download phonefleet-aarch64-unknown-linux-gnu.tar.gz of phonefleet v9.9.9"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = install(
        other.path(),
        &other.path().join("nowhere"),
        "Linux",
        "X64",
        &with_cargo,
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("nothing was installed"), "{stderr}");
    assert!(!args_file.exists(), "cargo was not run");

    // Over HTTP (a stubbed curl): a download that fails, or no latest release to be found, is an
    // error too.
    let curl = fake_tool(other.path(), "curl", "exit 22\n");
    let with_curl = format!("{}:{path}", curl.display());
    for version in ["v9.9.9", "latest"] {
        let out = Command::new("bash")
            .arg(root().join("action/install.sh"))
            .env("PHONEFLEET_VERSION", version)
            .env("PHONEFLEET_REPOSITORY", "your-org/phonefleet")
            .env("PHONEFLEET_INSTALL_DIR", other.path().join("bin"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("PATH", &with_curl)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{version}: {stderr}");
        assert!(
            stderr.contains("cannot download phonefleet-x86_64-unknown-linux-musl.tar.gz")
                || stderr.contains("cannot find the latest phonefleet release"),
            "{version}: {stderr}"
        );
    }
    assert!(!args_file.exists(), "cargo was not run");

    // Built from source only when asked, and only of a pinned tag.
    let from_source = |version: &str| {
        Command::new("bash")
            .arg(root().join("action/install.sh"))
            .env("PHONEFLEET_VERSION", version)
            .env("PHONEFLEET_BUILD_FROM_SOURCE", "true")
            .env("PHONEFLEET_REPOSITORY", "your-org/phonefleet")
            .env("PHONEFLEET_INSTALL_DIR", other.path().join("bin"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "ARM64")
            .env("PATH", &with_cargo)
            .output()
            .unwrap()
    };
    for unpinned in ["latest", "main", "v1"] {
        let out = from_source(unpinned);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("build-from-source needs a pinned release tag"),
            "{unpinned}"
        );
    }
    assert!(!args_file.exists(), "cargo was not run");
    let out = from_source("v9.9.9");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("building phonefleet v9.9.9 from source"),
        "{stderr}"
    );
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

/// A directory `tools` under `dir` holding an executable `name` running `script`.
fn fake_tool(dir: &Path, name: &str, script: &str) -> PathBuf {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let tool = tools.join(name);
    std::fs::write(&tool, format!("#!/bin/sh\n{script}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    tools
}

/// A fake cargo that records how it was asked and "builds" a phonefleet that says `built`.
fn fake_cargo(dir: &Path, args_file: &Path) -> PathBuf {
    fake_tool(
        dir,
        "cargo",
        &format!(
            "echo \"$@\" > \"{}\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && printf '#!/bin/sh\\necho built\\n' > \"$root/bin/phonefleet\" && chmod +x \"$root/bin/phonefleet\"\n",
            args_file.display()
        ),
    )
}

/// The sticky comment is the bot's own: a comment by someone else that starts with the marker is never
/// edited (it would let them frame what reviewers read). A fake gh serves the pull request's comments
/// and records what it was asked.
#[test]
fn the_sticky_comment_is_only_ever_the_bot_s_own() {
    let run = |comments: &str, user: Option<&str>| -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("comments.json"), comments).unwrap();
        let log = dir.path().join("gh.log");
        let user_answer = match user {
            Some(login) => format!("echo {login}; exit 0"),
            None => "echo 'Resource not accessible by integration' >&2; exit 1".to_owned(),
        };
        let tools = fake_tool(
            dir.path(),
            "gh",
            &format!(
                "echo \"$@\" >> \"{log}\"\ncase \"$*\" in\n  'api user'*) {user_answer} ;;\n  *--paginate*) cat \"{comments}\" ;;\nesac\n",
                log = log.display(),
                comments = dir.path().join("comments.json").display()
            ),
        );
        let body = dir.path().join("comment.md");
        std::fs::write(&body, "<!-- phonefleet-plan -->\n### phonefleet plan\n").unwrap();
        let out = Command::new("bash")
            .arg(root().join("action/comment.sh"))
            .env("GH_TOKEN", "t")
            .env("GITHUB_REPOSITORY", "o/r")
            .env("PR", "7")
            .env("COMMENT_FILE", &body)
            .env("CHANGES", "true")
            .env("STOPS", "0")
            .env(
                "PATH",
                format!("{}:{}", tools.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(log).unwrap()
    };
    let marker = "<!-- phonefleet-plan -->";
    let mallory = format!(
        r#"{{"id": 11, "user": {{"login": "mallory", "type": "User"}}, "body": "{marker}\nApproved, merge away"}}"#
    );
    let bot = format!(
        r#"{{"id": 22, "user": {{"login": "github-actions[bot]", "type": "Bot"}}, "body": "{marker}\nold plan"}}"#
    );
    let alice = format!(
        r#"{{"id": 33, "user": {{"login": "alice", "type": "User"}}, "body": "{marker}\nold plan"}}"#
    );
    // The workflow's token: github-actions[bot]'s comment is edited, mallory's earlier one is not (two
    // pages, as --paginate writes them).
    let asked = run(&format!("[{mallory}]\n[{bot}]\n"), None);
    assert!(
        asked.contains("--method PATCH repos/o/r/issues/comments/22 "),
        "{asked}"
    );
    assert!(!asked.contains("comments/11"), "{asked}");
    // Only someone else's marker: a new comment.
    let asked = run(&format!("[{mallory}]"), None);
    assert!(
        asked.contains("--method POST repos/o/r/issues/7/comments "),
        "{asked}"
    );
    assert!(!asked.contains("PATCH"), "{asked}");
    // A personal token acting as alice: alice's comment, not the bot's.
    let asked = run(&format!("[{mallory}, {bot}, {alice}]"), Some("alice"));
    assert!(
        asked.contains("--method PATCH repos/o/r/issues/comments/33 "),
        "{asked}"
    );
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
            .env("XDG_RUNTIME_DIR", dir.path("runtime"))
            .env("PHONEFLEET_GEELARK_TOKEN", crate::support::token_of("gl"))
            .env("PHONEFLEET_CPH_TOKEN", crate::support::token_of("cph"))
            .env("PHONEFLEET_KOOPHONE_TOKEN", crate::support::token_of("kp"))
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
    // Credentials by job: merge-request jobs read with read-only variables and note with a Reporter
    // token; the write variables (protected, so only on protected branches) only in apply; the note
    // found is the token's own user's.
    assert_eq!(
        doc["plan"]["variables"]["GEELARK_TOKEN"],
        "$GEELARK_READ_TOKEN"
    );
    assert_eq!(
        doc["plan"]["variables"]["HUAWEICLOUD_SDK_SK"],
        "$PHONEFLEET_READ_CPH_SK"
    );
    assert_eq!(
        doc["drift"]["variables"]["HUAWEICLOUD_SDK_SK"],
        "$PHONEFLEET_READ_CPH_SK"
    );
    assert!(
        doc["apply"]["variables"].is_null(),
        "apply reads the protected variables"
    );
    assert!(!text.contains("GITLAB_API_TOKEN"));
    assert!(text.contains(r#"str(n["author"]["id"]) == os.environ["ME"]"#));
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
