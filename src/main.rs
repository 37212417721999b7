//! The `phonefleet` binary: parse, run, exit. Everything else is in the library.

fn main() -> std::process::ExitCode {
    phonefleet::main()
}
