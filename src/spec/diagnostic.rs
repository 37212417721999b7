//! A problem found in a spec file, located by file, line, column and field path.
//!
//! Owns only the value and its one-line rendering; finding problems is `load` and `validate`'s job.

use std::fmt;

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub file: String,
    /// 1-based line; 0 for the file as a whole (no position).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Field path such as `phones[3].state`; empty for the whole document.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we know.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Line 0: about the file as a whole (it cannot be read, it is a directory), no position.
        if self.line == 0 {
            write!(f, "{}: ", self.file)?;
        } else {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// A problem with a file (or directory) as a whole: no position.
    pub fn whole(file: &str, message: String) -> Diagnostic {
        Diagnostic {
            file: file.to_owned(),
            line: 0,
            column: 0,
            path: String::new(),
            message,
            hint: None,
        }
    }
}

/// Every problem found in one or more files; an error type so that `?` carries it to the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl crate::error::Hint for Diagnostics {
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Escape one key for a JSON pointer (RFC 6901: `~` -> `~0`, `/` -> `~1`).
pub(crate) fn escape_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The key a JSON pointer segment stands for (the inverse of [`escape_segment`]).
pub(crate) fn unescape_segment(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

/// Turn a JSON pointer (`/phones/3/properties/sys.prop.x`) into the path users read
/// (`phones[3].properties."sys.prop.x"`).
pub fn display_path(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let seg = unescape_segment(raw);
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
            continue;
        }
        if !out.is_empty() {
            out.push('.');
        }
        let plain = !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            out.push_str(&seg);
        } else {
            out.push('"');
            out.push_str(&seg);
            out.push('"');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::display_path;

    #[test]
    fn pointers_read_as_field_paths() {
        assert_eq!(display_path(""), "");
        assert_eq!(display_path("/phones/3/state"), "phones[3].state");
        assert_eq!(
            display_path("/phones/0/properties/sys.prop.x"),
            "phones[0].properties.\"sys.prop.x\""
        );
        assert_eq!(
            display_path("/providers/cph-sh/kind"),
            "providers.cph-sh.kind"
        );
        assert_eq!(display_path("/a~1b"), "\"a/b\"");
    }
}
