//! What `validate` found, three ways: text for a person, GitHub workflow commands (annotations on the
//! files of a pull request), and JSON (`format_version` 1) for tools.

use serde::Serialize;

use crate::spec::Diagnostic;

/// One file (or directory) checked.
#[derive(Debug, Clone)]
pub enum Checked {
    /// It is valid.
    Valid {
        /// As named.
        file: String,
        /// Provider entries.
        providers: usize,
        /// Declared phones.
        phones: usize,
    },
    /// Its problems.
    Invalid {
        /// As named.
        file: String,
        /// Every problem found.
        problems: Vec<Diagnostic>,
    },
}

impl Checked {
    /// How many problems.
    pub fn problems(&self) -> usize {
        match self {
            Checked::Valid { .. } => 0,
            Checked::Invalid { problems, .. } => problems.len(),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// For a person: each problem (with `problems`), a verdict per valid file, and the count.
pub fn text(checked: &[Checked], problems: bool) -> String {
    let mut out = String::new();
    for c in checked {
        match c {
            Checked::Valid {
                file,
                providers,
                phones,
            } => out.push_str(&format!(
                "{file}: valid ({providers} provider{}, {phones} phone{})\n",
                plural(*providers),
                plural(*phones)
            )),
            Checked::Invalid { problems: ps, .. } if problems => {
                for d in ps {
                    out.push_str(&format!("error: {d}\n"));
                }
            }
            Checked::Invalid { .. } => {}
        }
    }
    let n: usize = checked.iter().map(Checked::problems).sum();
    if n > 0 {
        out.push_str(&format!("error: {n} problem{} found\n", plural(n)));
    }
    out
}

/// A workflow command's message: `%`, CR and LF escaped as GitHub's runner reads them.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: `:` and `,` escaped too.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` annotation per problem (on its file, line and column when it has them).
pub fn github(checked: &[Checked]) -> String {
    let mut out = String::new();
    for c in checked {
        let Checked::Invalid { problems, .. } = c else {
            continue;
        };
        for d in problems {
            let mut props = vec![format!("file={}", property(&d.file))];
            if d.line > 0 {
                props.push(format!("line={}", d.line));
                props.push(format!("col={}", d.column));
            }
            props.push(format!("title={}", property("phonefleet validate")));
            let mut message = if d.path.is_empty() {
                d.message.clone()
            } else {
                format!("{}: {}", d.path, d.message)
            };
            if let Some(h) = &d.hint {
                message.push_str(&format!(" ({h})"));
            }
            out.push_str(&format!(
                "::error {}::{}\n",
                props.join(","),
                data(&message)
            ));
        }
    }
    out
}

#[derive(Serialize)]
struct FileJson<'a> {
    file: &'a str,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    providers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phones: Option<usize>,
}

#[derive(Serialize)]
struct ProblemJson<'a> {
    file: &'a str,
    /// 0 for the file as a whole.
    line: usize,
    column: usize,
    path: &'a str,
    message: &'a str,
    hint: Option<&'a str>,
}

#[derive(Serialize)]
struct ValidateJson<'a> {
    format_version: u32,
    valid: bool,
    files: Vec<FileJson<'a>>,
    problems: Vec<ProblemJson<'a>>,
}

/// Every file's verdict and every problem, as JSON.
pub fn json(checked: &[Checked]) -> String {
    let files = checked
        .iter()
        .map(|c| match c {
            Checked::Valid {
                file,
                providers,
                phones,
            } => FileJson {
                file,
                valid: true,
                providers: Some(*providers),
                phones: Some(*phones),
            },
            Checked::Invalid { file, .. } => FileJson {
                file,
                valid: false,
                providers: None,
                phones: None,
            },
        })
        .collect();
    let problems = checked
        .iter()
        .flat_map(|c| match c {
            Checked::Invalid { problems, .. } => problems.as_slice(),
            Checked::Valid { .. } => &[],
        })
        .map(|d| ProblemJson {
            file: &d.file,
            line: d.line,
            column: d.column,
            path: &d.path,
            message: &d.message,
            hint: d.hint.as_deref(),
        })
        .collect::<Vec<_>>();
    let mut s = serde_json::to_string_pretty(&ValidateJson {
        format_version: 1,
        valid: problems.is_empty(),
        files,
        problems,
    })
    .expect("a validation serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_would_end_them() {
        let d = Diagnostic {
            file: "fleet/a,b:c.yaml".into(),
            line: 3,
            column: 7,
            path: "phones[0].state".into(),
            message: "100% wrong\nreally".into(),
            hint: Some("use running".into()),
        };
        let out = github(&[Checked::Invalid {
            file: "x".into(),
            problems: vec![d],
        }]);
        assert_eq!(
            out,
            "::error file=fleet/a%2Cb%3Ac.yaml,line=3,col=7,title=phonefleet validate::phones[0].state: 100%25 wrong%0Areally (use running)\n"
        );
    }
}
