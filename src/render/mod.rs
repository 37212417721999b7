//! Rendering, apart from computing: plans and apply reports as text (with `similar` diffs and named
//! colors), JSON (versioned wire types of their own) and markdown (pull-request comments). Data goes to
//! stdout; status lines go to stderr, written by the commands.

pub mod color;
pub mod diagnostics;
pub mod inert;
pub mod json;
pub mod live;
pub mod log;
pub mod markdown;
pub mod progress;
pub mod report;
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
