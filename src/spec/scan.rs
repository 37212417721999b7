//! A spec's text checked before the YAML parser sees it, for what a reviewer cannot see or a parser
//! should not have to chew on:
//!
//! - Characters that break lines for the YAML parser but not for `git diff`, grep or a pull request's
//!   view (U+2028, U+2029, U+0085), and the bidirectional controls that reorder what is shown
//!   (U+202A-U+202E, U+2066-U+2069): a key hidden behind them on a line that reads as a comment would be
//!   read and used. Each is refused where it stands.
//! - Flow collections (`[`, `{`) nested deeper than [`MAX_FLOW_DEPTH`]: the parser refuses them too, but
//!   only after a slow walk (200 KB of `[` took it 40 s).
//!
//! Pure: text in, places out.

/// How deep `[` and `{` may nest. A fleet spec needs three or four levels.
pub const MAX_FLOW_DEPTH: usize = 64;

/// A character a spec may not hold, where it stands (1-based line and column, as editors count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hidden {
    /// Line, counted by `\n` only (as `git diff` and editors count).
    pub line: usize,
    /// Column, in characters.
    pub column: usize,
    /// The character.
    pub char: char,
}

impl Hidden {
    /// `U+2028 (LINE SEPARATOR)`.
    pub fn describe(&self) -> String {
        let name = match self.char {
            '\u{2028}' => "LINE SEPARATOR",
            '\u{2029}' => "PARAGRAPH SEPARATOR",
            '\u{0085}' => "NEXT LINE",
            '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
            '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
            '\u{202C}' => "POP DIRECTIONAL FORMATTING",
            '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
            '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
            '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
            '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
            '\u{2068}' => "FIRST STRONG ISOLATE",
            _ => "POP DIRECTIONAL ISOLATE",
        };
        format!("U+{:04X} ({name})", self.char as u32)
    }
}

/// Whether `c` is refused in a spec: a line break only the YAML parser sees, or a bidi control.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{2028}' | '\u{2029}' | '\u{0085}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Every refused character of `source`, in order.
pub fn hidden(source: &str) -> Vec<Hidden> {
    let mut out = Vec::new();
    if !source.chars().any(is_hidden) {
        return out;
    }
    for (i, line) in source.split('\n').enumerate() {
        for (column, c) in line.chars().enumerate() {
            if is_hidden(c) {
                out.push(Hidden {
                    line: i + 1,
                    column: column + 1,
                    char: c,
                });
            }
        }
    }
    out
}

/// The first place where flow collections nest deeper than `max` (line, column), if any. Brackets in
/// quoted scalars and comments do not count; brackets in a block scalar may (a false alarm needs `max`
/// unbalanced brackets in one, and says plainly what it found).
pub fn too_deep(source: &str, max: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    for c in source.chars() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
            comment = false;
            prev = c;
            continue;
        }
        if comment {
            continue;
        }
        match (quote, c) {
            (Some('"'), '\\') if prev == '\\' => {
                prev = ' '; // an escaped backslash: the next quote is not escaped
                continue;
            }
            (Some('"'), '"') if prev != '\\' => quote = None,
            (Some('\''), '\'') => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if prev.is_whitespace() => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                if depth > max {
                    return Some((line, column));
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_line_breaks_and_bidi_controls_are_found_where_they_stand() {
        let src = "version: 1\n# note\u{2028}phones: []\nname: \"a\u{202E}b\"\n";
        let found = hidden(src);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].line, found[0].column), (2, 7));
        assert_eq!(found[0].describe(), "U+2028 (LINE SEPARATOR)");
        assert_eq!((found[1].line, found[1].column), (3, 9));
        assert!(hidden("plain: text\n").is_empty());
        assert!(is_hidden('\u{0085}') && is_hidden('\u{2069}') && !is_hidden('\u{200B}'));
    }

    #[test]
    fn deep_flow_nesting_is_found_quickly() {
        let deep = "[".repeat(200_000);
        assert_eq!(too_deep(&deep, MAX_FLOW_DEPTH), Some((1, 65)));
        assert_eq!(too_deep("a: [[1], {b: [2]}]\n", 3), None);
        assert_eq!(too_deep("a: \"[[[[\" # [[[[\n", 1), None);
        assert_eq!(too_deep("a: '[[[['\n", 1), None);
        assert_eq!(too_deep("a: \"x\\\\\" [[\n", 1), Some((1, 11)));
    }
}
