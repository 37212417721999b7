//! The README and the pages of `docs/` stay runnable: every `phonefleet ...` (and `cargo run --release --
//! ...`) command in their console blocks parses with the real command line, and every file of the
//! repository they name exists. The quickstart itself runs in `quickstart.rs`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pages: README.md and every `docs/*.md`.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// The commands of a page's ```console blocks (`$ ...` lines, continuation lines joined).
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_console = false;
    let mut pending: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("```") {
            in_console = line.trim() == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(p) = pending.as_mut() {
            p.push(' ');
            p.push_str(line.trim().trim_end_matches('\\'));
            if !line.trim_end().ends_with('\\') {
                out.push(pending.take().unwrap());
            }
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ ") {
            if cmd.trim_end().ends_with('\\') {
                pending = Some(cmd.trim_end().trim_end_matches('\\').to_owned());
            } else {
                out.push(cmd.to_owned());
            }
        }
    }
    out
}

/// Split a shell line into words: quotes kept together, a trailing `# comment` and pipes cut.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (None, '#') if word.is_empty() => break,
            (None, '|' | '>' | '&' | ';') if word.is_empty() => break,
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[test]
fn every_command_of_the_readme_and_the_docs_parses_and_names_files_that_exist() {
    use clap::Parser;
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let shown = page.strip_prefix(root()).unwrap().display().to_string();
        for line in commands(&text) {
            let w = words(&line);
            let args: Vec<String> = match w.first().map(String::as_str) {
                Some("phonefleet") => w.clone(),
                Some("cargo") if w.get(1).map(String::as_str) == Some("run") => {
                    let at = w.iter().position(|x| x == "--").map_or(w.len(), |i| i + 1);
                    std::iter::once("phonefleet".to_owned())
                        .chain(w[at..].iter().cloned())
                        .collect()
                }
                _ => continue,
            };
            if let Err(e) = phonefleet::cli::Cli::try_parse_from(&args) {
                use clap::error::ErrorKind;
                assert!(
                    matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion),
                    "{shown}: `{line}` does not parse: {e}"
                );
            }
            for a in &args {
                if a.starts_with("examples/") {
                    assert!(
                        Path::new(&root()).join(a).exists(),
                        "{shown}: `{line}` names {a}, which is not in the repository"
                    );
                }
            }
            checked += 1;
        }
        // Links between the pages point at pages that exist.
        for (i, _) in text.match_indices("](") {
            let target: String = text[i + 2..].chars().take_while(|c| *c != ')').collect();
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let file = target.split('#').next().unwrap();
            let base = page.parent().unwrap();
            assert!(
                base.join(file).exists(),
                "{shown}: the link to {target} points at nothing"
            );
        }
    }
    assert!(checked >= 12, "only {checked} commands found");
}

#[test]
fn the_readme_is_a_front_door() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= 400,
        "README.md has {lines} lines; reference belongs in docs/"
    );
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    for want in [
        "Quickstart",
        "Concepts",
        "Commands",
        "The pull-request workflow",
        "Documentation",
    ] {
        assert!(
            headings.contains(&want),
            "README lacks `## {want}`: {headings:?}"
        );
    }
    assert!(readme.contains("$ cargo test"), "the test command");
}
