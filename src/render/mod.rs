//! Rendering, apart from computing: plans and apply reports as text (with `similar` diffs and named
//! colors), JSON (versioned wire types of their own) and markdown (pull-request comments). Data goes to
//! stdout; status lines go to stderr, written by the commands.

pub mod color;
pub mod json;
pub mod markdown;
pub mod progress;
pub mod report;
pub mod status;
pub mod text;
pub mod time;
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
