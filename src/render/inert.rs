//! Text from a spec or a provider (phone names, labels, provider messages) made inert where a bot posts
//! it: in a pull-request comment or a chat message it must not ping anyone (`@org/fleet-admins`,
//! Slack's `<!channel>`), link anywhere (`https://…`, `www.…`, an e-mail address) or refer to an issue
//! (`#12`). A WORD JOINER (U+2060, invisible, zero width) goes after each `@` and `#` and inside each
//! `://` and `www.`, which breaks GitHub's and GitLab's mention, autolink and reference patterns and
//! Slack's URL detection while the text reads the same; Slack's own control characters (`&`, `<`,
//! `>`) are escaped as Slack asks.

/// The joiner put into what would otherwise ping or link.
const JOINER: char = '\u{2060}';

/// `s` with mentions, references and links broken by an invisible joiner.
pub fn unlinked(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let lower = s.to_ascii_lowercase();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        out.push(c);
        match c {
            '@' | '#' => out.push(JOINER),
            ':' if lower[i..].starts_with("://") => out.push(JOINER),
            'w' | 'W' if lower[i..].starts_with("www.") => {
                // After the third `w`.
                for _ in 0..2 {
                    if let Some((_, w)) = chars.next() {
                        out.push(w);
                    }
                }
                out.push(JOINER);
            }
            _ => {}
        }
    }
    out
}

/// `s` for a Slack message: `&`, `<` and `>` escaped (no `<!channel>`, `<@U123>` or `<url|text>` can
/// open), mentions and links broken as by [`unlinked`].
pub fn slack(s: &str) -> String {
    unlinked(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_pings_or_links() {
        let name =
            "@org/fleet-admins approve at https://evil.example/x or www.evil.example, #12, a@b.co";
        let out = unlinked(name);
        for bad in ["@org", "https://", "www.evil", "#12", "a@b"] {
            assert!(!out.contains(bad), "{bad}: {out:?}");
        }
        assert_eq!(out.replace(JOINER, ""), name, "reads the same");
        assert_eq!(unlinked("growth-1"), "growth-1");
        let s = slack("<!channel> <https://x.example|Approve> & more");
        assert!(!s.contains('<') && !s.contains('>'), "{s}");
        assert!(s.starts_with("&lt;!channel&gt;"), "{s}");
        assert!(s.contains("&amp; more"), "{s}");
        assert!(!s.contains("https://"), "{s}");
    }
}
