//! A directory is a fleet: validate, plan, apply and export take one; files are checked on their own and
//! merged (things defined twice named with both files and lines); a saved plan binds to the whole set of
//! files; `export` without `--provider` writes every provider into one spec that plans clean.

use crate::support::{Dir, Sim, pf, providers};

const ACCOUNT: &str = "phones:
  - {provider: huawei-cph, id: c1, project_id: p1, status: running, traffic: direct}
  - {provider: huawei-cph, id: c2, project_id: p1, status: stopped}
  - {provider: geelark, id: g1, status: running}
  - {provider: geelark, id: g2, status: stopped}
  - {provider: koophone, id: k1, status: running}
";

/// A fleet directory: providers in one file, each team's phones in another.
fn fleet(url: &str) -> Dir {
    let dir = Dir::with_spec("");
    std::fs::remove_file(dir.spec()).unwrap();
    std::fs::create_dir(dir.path("fleet")).unwrap();
    dir.write("fleet/providers.yaml", &providers(url));
    dir.write(
        "fleet/cph-team.yml",
        "version: 1\nphones:\n  - {id: c1, provider: cph, traffic: routing}\n  - {id: c2, provider: cph, state: running}\n",
    );
    dir.write(
        "fleet/gl-team.yaml",
        "version: 1\ngroups:\n  - {provider: gl, ids: [g1, g2], state: stopped}\n",
    );
    // Not part of the fleet: another extension, a hidden file, a subdirectory.
    dir.write("fleet/README.md", "# not a spec\n");
    dir.write("fleet/.gl-team.yaml.swp", "garbage: [\n");
    std::fs::create_dir(dir.path("fleet/old")).unwrap();
    dir.write("fleet/old/broken.yaml", "version: [\n");
    dir
}

#[test]
fn validate_plan_and_apply_take_a_directory() {
    let sim = Sim::start(ACCOUNT);
    let dir = fleet(&sim.url());
    let fleet = dir.path("fleet");
    pf(&["validate", &fleet])
        .run()
        .code(0)
        .stderr_has("valid (3 providers, 4 phones)");
    pf(&["plan", &fleet, "--detailed-exitcode"])
        .run()
        .code(2)
        .stdout_has(
            "Plan: 3 phones, 3 changes: 1 to stop, 1 to start, 1 to re-route, 0 to update properties; 0 blocked.",
        );
    pf(&["apply", &format!("{fleet}/"), "--auto-approve"])
        .run()
        .code(0)
        .stdout_has("Apply: 3 ok");
    pf(&["plan", &fleet, "--detailed-exitcode"]).run().code(0);
}

#[test]
fn a_directory_s_problems_name_their_files_and_lines() {
    let dir = fleet("http://127.0.0.1:9");
    let fleet = dir.path("fleet");
    dir.write(
        "fleet/more.yaml",
        "version: 1\nproviders:\n  gl:\n    kind: geelark\nphones:\n  - {id: c1, provider: cph}\n  - {id: x1, provider: glx}\n",
    );
    dir.write(
        "fleet/zz-bad.yaml",
        "version: 1\nphones:\n  - {id: q, provider: gl, stat: running}\n",
    );
    let out = pf(&["validate", &fleet]).run();
    out.code(1);
    let more = dir.path("fleet/more.yaml");
    let providers = dir.path("fleet/providers.yaml");
    let cph_team = dir.path("fleet/cph-team.yml");
    for line in [
        // Declared in two files: both named.
        format!(
            "error: {more}:6:10: phones[0].id: phone `c1` of provider `cph` is declared twice (first at {cph_team}:3)"
        ),
        format!(
            "error: {more}:7:24: phones[1].provider: provider `glx` is not defined under `providers`"
        ),
        format!(
            "error: {providers}:8:3: providers.gl: provider `gl` is defined twice (first at {more}:3)"
        ),
        format!(
            "error: {}:3:27: phones[0].stat: unknown field `stat`",
            dir.path("fleet/zz-bad.yaml")
        ),
    ] {
        assert!(
            out.stderr.contains(&line),
            "missing `{line}` in:\n{}",
            out.stderr
        );
    }
    // An empty directory.
    std::fs::create_dir(dir.path("empty")).unwrap();
    pf(&["plan", &dir.path("empty")])
        .run()
        .code(1)
        .stderr_has("the directory holds no *.yaml or *.yml file");
}

#[test]
fn a_saved_plan_binds_to_every_file_of_the_directory() {
    let sim = Sim::start(ACCOUNT);
    let dir = fleet(&sim.url());
    let fleet = dir.path("fleet");
    let plan = dir.path("plan.json");
    // The plan file never goes where it would become part of the spec.
    pf(&["plan", &fleet, "--out", &dir.path("fleet/plan.yaml")])
        .run()
        .code(1)
        .stderr_has("a .yaml file in the spec directory would become part of the spec");
    pf(&["plan", &fleet, "--out", &plan]).run().code(0);
    // An edit of a covered phone's file: refused, naming the file, the phone and the field.
    let reviewed = dir.read("fleet/gl-team.yaml");
    dir.write(
        "fleet/gl-team.yaml",
        "version: 1\ngroups:\n  - {provider: gl, ids: [g1, g2], state: running}\n",
    );
    pf(&["apply", &plan])
        .run()
        .code(1)
        .stderr_has("gl-team.yaml: phone `g1` of provider `gl` is declared otherwise than when the plan was made (state: stopped -> running)");
    dir.write("fleet/gl-team.yaml", &reviewed);
    // A new file declaring the same phones again makes the spec invalid: nothing can be applied.
    dir.write(
        "fleet/new.yaml",
        "version: 1\ngroups:\n  - {provider: gl, ids: [g1, g2], state: running}\n",
    );
    pf(&["apply", &plan])
        .run()
        .code(1)
        .stderr_has("cannot be loaded here");
    std::fs::remove_file(dir.path("fleet/new.yaml")).unwrap();
    assert_eq!(sim.mutating_calls(), 0);
    // Another team's new file and a renamed file change no covered phone: the plan still applies.
    dir.write(
        "fleet/kp-team.yaml",
        "version: 1\nphones:\n  - {id: k1, provider: kp, state: running}\n",
    );
    std::fs::rename(dir.path("fleet/gl-team.yaml"), dir.path("fleet/gl.yaml")).unwrap();
    pf(&["apply", &plan])
        .run()
        .code(0)
        .stdout_has("Apply: 3 ok");
}

#[test]
fn export_writes_every_provider_into_one_spec_that_plans_clean() {
    let sim = Sim::start(ACCOUNT);
    let dir = fleet(&sim.url());
    for flags in [&[][..], &["--group-by", "state"][..]] {
        let out = pf(&["export", &dir.path("fleet")]).args(flags).run();
        out.code(0)
            .stderr_has("Listing every phone of providers `cph`, `gl`, `kp`")
            .stdout_has(
                "from providers `cph` (huawei-cph), `gl` (geelark), `kp` (koophone): 5 phones.",
            );
        let exported = dir.write("adopted.yaml", &out.stdout);
        pf(&["validate", &exported])
            .run()
            .code(0)
            .stderr_has("valid (3 providers, 5 phones)");
        pf(&["plan", &exported, "--detailed-exitcode"])
            .run()
            .code(0)
            .stdout_has("No changes.");
    }
    // --provider still narrows it.
    let out = pf(&["export", "--provider", "gl", &dir.path("fleet")]).run();
    out.code(0);
    assert!(!out.stdout.contains("huawei-cph"), "{}", out.stdout);
}

/// A committed link that leaves the spec directory (`fleet/z.yaml -> ../../outside/creds.json`) is
/// refused by name, before anything in it is read or quoted; a link that stays inside is a spec file.
#[test]
fn a_link_out_of_the_spec_directory_is_refused_naming_it() {
    let sim = Sim::start(ACCOUNT);
    let dir = fleet(&sim.url());
    dir.write(
        "outside/creds.json",
        "{\"version\": 1, \"phones\": [{\"id\": \"ghp_outside_secret_1234\", \"provider\": \"gl\"}]}\n",
    );
    std::os::unix::fs::symlink("../outside/creds.json", dir.path("fleet/z.yaml")).unwrap();
    let fleet_dir = dir.path("fleet");
    for args in [
        vec!["validate", fleet_dir.as_str()],
        vec!["validate", "--format", "github", fleet_dir.as_str()],
        vec!["plan", fleet_dir.as_str()],
    ] {
        let out = pf(&args).run();
        out.code(1).no_panic();
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains("z.yaml") && all.contains("a link to a file outside the spec directory"),
            "{args:?}: {all}"
        );
        assert!(!all.contains("ghp_outside_secret"), "{args:?}: {all}");
    }
    assert!(
        sim.stats().is_empty(),
        "nothing was read: {:?}",
        sim.stats()
    );
    // A link to a file inside the directory is one of its files.
    std::fs::remove_file(dir.path("fleet/z.yaml")).unwrap();
    dir.write(
        "fleet/shared/extra.yaml",
        "version: 1\nphones:\n  - {id: k1, provider: kp}\n",
    );
    std::os::unix::fs::symlink("shared/extra.yaml", dir.path("fleet/z.yaml")).unwrap();
    pf(&["validate", &fleet_dir])
        .run()
        .code(0)
        .stderr_has("valid (3 providers, 5 phones)");
}
