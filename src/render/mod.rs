//! Rendering, apart from computing: plans and apply reports as text (with `similar` diffs and named
//! colors), JSON (versioned wire types of their own) and markdown (pull-request comments). Data goes to
//! stdout; status lines go to stderr, written by the commands.

pub mod color;

/// "3 to stop, 0 to start, ...": a count per kind of action, destructive first, each written by
/// [`count`] and followed by its word (`verb` or `done`); the kinds of the first format always, the
/// others only when some.
pub fn action_counts(
    of: impl Fn(crate::plan::ActionKind) -> usize,
    word: fn(crate::plan::Words) -> &'static str,
) -> String {
    crate::plan::ActionKind::DESTRUCTIVE_FIRST
        .into_iter()
        .map(|k| (k, of(k)))
        .filter(|(k, n)| k.words().always_counted || *n > 0)
        .map(|(k, n)| format!("{} {}", count(n), word(k.words())))
        .collect::<Vec<_>>()
        .join(", ")
}
pub mod diagnostics;
pub mod inert;
pub mod json;
pub mod live;
pub mod log;
pub mod markdown;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod status;
pub mod text;
pub mod time;
pub mod watch;
pub mod wrap;

/// Output format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human text.
    Text,
    /// JSON, `format_version` 1.
    Json,
    /// Markdown for a pull-request comment.
    Markdown,
}

/// A count for people: `1,500`.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 phone`, `1,000 phones`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

#[cfg(test)]
mod count_tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::count(1000), "1,000");
        assert_eq!(super::count(1_234_567), "1,234,567");
        assert_eq!(super::counted(1, "phone", "phones"), "1 phone");
        assert_eq!(super::counted(1500, "change", "changes"), "1,500 changes");
    }
}
