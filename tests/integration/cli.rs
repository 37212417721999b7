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
