//! `validate`: every broken spec in tests/fixtures/invalid is refused with the expected message at the
//! expected line; examples are valid; hostile input fails fast and cleanly; the committed schema is fresh.

use std::path::Path;

use proptest::prelude::*;

use crate::support::{Dir, pf};

/// `# expect: LINE: message fragment` lines at the top of a fixture.
fn expectations(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|e| {
            let (line, msg) = e.split_once(": ").expect("`# expect: LINE: text`");
            (line.parse().expect("a line number"), msg.to_owned())
        })
        .collect()
}

#[test]
fn every_invalid_fixture_reports_its_message_and_line() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "at least 15 broken specs, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{} has no `# expect:` line",
            file.display()
        );
        let name = file.display().to_string();
        let out = pf(&["validate", &name]).run();
        out.code(1).no_panic();
        for (line, msg) in &expected {
            let found = out.stderr.lines().any(|l| {
                l.starts_with(&format!("error: {name}:{line}:")) && l.contains(msg.as_str())
            });
            assert!(
                found,
                "{name}: expected `{msg}` at line {line}, got:\n{}",
                out.stderr
            );
        }
        let problems = out
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("error: {name}:")))
            .count();
        assert_eq!(
            problems,
            expected.len(),
            "{name}: every problem, and only those:\n{}",
            out.stderr
        );
    }
}

#[test]
fn every_example_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("# yaml-language-server: $schema=../schemas/fleet.schema.json"),
                "{} must start with the schema comment",
                path.display()
            );
            pf(&["validate", &path.display().to_string()]).run().code(0);
            n += 1;
        }
    }
    assert!(n >= 2);
    // The fleet directory: each file with its schema comment, the whole valid.
    let fleet = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fleet");
    for entry in std::fs::read_dir(&fleet).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../../schemas/fleet.schema.json")
        );
    }
    pf(&["validate", &fleet.display().to_string()])
        .run()
        .code(0)
        .stderr_has("valid (2 providers, 8 phones)");
}

#[test]
fn several_files_are_checked_in_one_run() {
    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart.yaml");
    let bad = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid/bad-enum.yaml");
    let out = pf(&[
        "validate",
        &good.display().to_string(),
        &bad.display().to_string(),
    ])
    .run();
    out.code(1)
        .stderr_has("quickstart.yaml: valid")
        .stderr_has("bad-enum.yaml:15:");
}

#[test]
fn hostile_input_fails_fast_and_cleanly() {
    let dir = Dir::with_spec("");
    let deep = format!(
        "version: 1\nproviders: {}{}\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    let deep_map = format!("a: {}1{}\n", "{b: ".repeat(20_000), "}".repeat(20_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("deep.yaml", deep.into_bytes(), "nest deeper than 64 levels"),
        (
            "deepmap.yaml",
            deep_map.into_bytes(),
            "nest deeper than 64 levels",
        ),
        (
            "utf8.yaml",
            b"version: 1\nproviders:\n  gl: {kind: \xff\xfe}\n".to_vec(),
            "not valid UTF-8",
        ),
        ("empty.yaml", Vec::new(), "the spec is empty"),
        ("nul.yaml", b"\0\0\0".to_vec(), "error"),
        ("list.yaml", b"- 1\n- 2\n".to_vec(), "must be a mapping"),
        (
            "tag.yaml",
            b"version: !!binary aGVsbG8=\nproviders: {}\n".to_vec(),
            "error",
        ),
        (
            "multi.yaml",
            b"version: 1\n---\nversion: 1\n".to_vec(),
            "more than one document",
        ),
    ];
    for (name, bytes, msg) in cases {
        let path = dir.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let started = std::time::Instant::now();
        let out = pf(&["validate", &path.display().to_string()]).run();
        out.code(1).no_panic().stderr_has(msg);
        // Not a timing assertion of speed: a hang would show up as minutes, not milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{name} took too long"
        );
    }
    let out = pf(&["validate", "/nonexistent/spec.yaml"]).run();
    out.code(1).stderr_has("cannot read the file");
}

#[test]
fn the_committed_schema_is_what_the_code_generates() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/fleet.schema.json"),
    )
    .unwrap();
    assert!(
        committed == phonefleet::spec::json_schema_text(),
        "schemas/fleet.schema.json is stale: run `cargo run -- schema > schemas/fleet.schema.json`"
    );
    let out = pf(&["schema"]).run();
    out.code(0);
    assert_eq!(out.stdout, committed);
}

fn yaml_doc() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("1".to_owned()),
        Just("running".to_owned()),
        Just("\"\"".to_owned()),
        Just("null".to_owned()),
        Just("*a".to_owned()),
        Just("&a x".to_owned()),
        "[a-z0-9_.-]{0,12}",
    ];
    let key = prop_oneof![
        Just("version".to_owned()),
        Just("providers".to_owned()),
        Just("phones".to_owned()),
        Just("groups".to_owned()),
        Just("kind".to_owned()),
        Just("id".to_owned()),
        Just("provider".to_owned()),
        Just("properties".to_owned()),
        Just("token".to_owned()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((key.clone(), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = phonefleet::spec::load_str("fuzz.yaml", &bytes);
    }

    #[test]
    fn arbitrary_yaml_documents_never_panic(doc in yaml_doc()) {
        let _ = phonefleet::spec::load_str("fuzz.yaml", doc.as_bytes());
        let with_version = format!("version: 1\nproviders: {{gl: {{kind: geelark}}}}\nphones: [{doc}]\n");
        let _ = phonefleet::spec::load_str("fuzz.yaml", with_version.as_bytes());
    }
}

/// Every problem in one pass (a duplicate key, schema and semantic problems together), each with a
/// "did you mean" or "quote it" hint where one helps.
#[test]
fn one_pass_with_hints() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invalid/one-pass.yaml"
    );
    let out = pf(&["validate", file]).run();
    out.code(1)
        .stderr_has("error: 8 problems found")
        .stderr_has("hint: did you mean `koophone`?")
        .stderr_has("hint: did you mean `state`?")
        .stderr_has("hint: did you mean `running`?")
        .stderr_has("hint: did you mean `gl`? (defined providers: cph, gl, kp)")
        .stderr_has("hint: quote it: \"123456\"");
    // The duplicate key, the schema and the semantic checks were all heard from.
    out.stderr_has("duplicate key `gl`")
        .stderr_has("unknown field `stat`")
        .stderr_has("not safe in a URL path");
}

/// One run names every problem: an entry with a faulty setting (`state: stoped`) is still checked for
/// the rest (its `provider: gll`), and a misspelled field gets "did you mean" against the fields the
/// schema allows there (`lables` -> `labels`), listed from the schema itself.
#[test]
fn every_problem_of_an_entry_in_one_run_with_the_fields_the_schema_allows() {
    let dir = Dir::with_spec(
        "version: 1
providers:
  gl: {kind: geelark, credentials: {token_env: GEELARK_T}}
phones:
  - {id: g1, provider: gll, state: stoped, lables: {team: a}}
watch: {heel: [start]}
",
    );
    pf(&["validate", &dir.spec()])
        .run()
        .code(1)
        .stderr_has("phones[0].provider: provider `gll` is not defined under `providers`")
        .stderr_has("hint: did you mean `gl`?")
        .stderr_has("phones[0].state: \"stoped\" is not one of \"running\" or \"stopped\"")
        .stderr_has("phones[0].lables: unknown field `lables`")
        .stderr_has("did you mean `labels`? (fields allowed here: group, id, image, labels, name, properties, protect, provider, proxy, remark, restart, schedule, state, tags, traffic)")
        .stderr_has("watch.heel: unknown field `heel`")
        .stderr_has("did you mean `heal`?");
}
