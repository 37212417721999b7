//! Provider text is data: every secret value of the run is replaced by `***`, and control characters
//! (including newlines, ANSI escape sequences and Unicode direction overrides) are shown escaped, before
//! anything a provider sent is printed, logged, put in `--json` or written to a plan file.
//!
//! The secrets are the values read from the environment variables a spec names; they are registered here
//! as they are read ([`register`]), before any call is made. Cleaning is done where provider text enters
//! the program (the HTTP layer and the provider clients), so nothing downstream sees a raw value.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Values to mask, longest first (so that a value containing another is masked whole).
struct Registry(RwLock<Vec<String>>);

impl Registry {
    const fn new() -> Registry {
        Registry(RwLock::new(Vec::new()))
    }

    fn add(&self, value: &str) {
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut all = self.0.write().unwrap_or_else(|p| p.into_inner());
        if !all.iter().any(|s| s == value) {
            all.push(value.to_owned());
            all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    fn replace<'a>(&self, s: &'a str, mask: &str) -> Cow<'a, str> {
        let all = self.0.read().unwrap_or_else(|p| p.into_inner());
        let mut out = Cow::Borrowed(s);
        for value in all.iter() {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), mask));
            }
        }
        out
    }
}

static SECRETS: Registry = Registry::new();

/// Values shorter than this are not masked: they cannot be told apart from ordinary text (masking a
/// one-letter value would garble every answer), and no real credential is that short.
pub const MIN_SECRET_LEN: usize = 6;

/// Remember a secret value so that it is masked wherever provider text shows it.
pub fn register(value: &str) {
    SECRETS.add(value);
}

static PRIVATE: Registry = Registry::new();

/// What a sensitive property value is replaced with in provider text.
pub const PRIVATE_MASK: &str = "(sensitive)";

/// Remember a sensitive property value (a phone number, an IMSI) so that a provider message echoing it
/// shows [`PRIVATE_MASK`] instead. Unlike secrets, these are not masked in answers' data, which phonefleet
/// must compare; only in the text it shows.
pub fn register_private(value: &str) {
    PRIVATE.add(value);
}

/// `s` with every registered secret replaced by [`MASK`].
pub fn secrets(s: &str) -> Cow<'_, str> {
    SECRETS.replace(s, MASK)
}

/// Raw bytes (a response body) with every registered secret replaced by [`MASK`], in place.
pub fn secrets_in_bytes(body: &mut Vec<u8>) {
    let all = SECRETS.0.read().unwrap_or_else(|p| p.into_inner());
    for secret in all.iter() {
        let needle = secret.as_bytes();
        if body.len() < needle.len() || !body.windows(needle.len()).any(|w| w == needle) {
            continue;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut i = 0;
        while i < body.len() {
            if body[i..].starts_with(needle) {
                out.extend_from_slice(MASK.as_bytes());
                i += needle.len();
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        *body = out;
    }
}

/// Whether a character would act on a terminal or reorder text instead of being shown.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Control characters written as visible escapes (`\u{1b}`, `\n`); everything else unchanged.
pub fn controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Provider text made safe to show: secrets and sensitive values masked, control characters escaped.
pub fn text(s: &str) -> String {
    controls(&PRIVATE.replace(&secrets(s), PRIVATE_MASK)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_controls_escaped() {
        register("tok-123456");
        register("tok-123456-longer");
        assert_eq!(
            text("bad token tok-123456-longer and tok-123456\x1b[2J\nNo changes"),
            "bad token *** and ***\\u{1b}[2J\\nNo changes"
        );
        assert_eq!(text("a\u{202e}b"), "a\\u{202e}b");
        let mut body = b"{\"msg\":\"tok-123456 x\"}".to_vec();
        secrets_in_bytes(&mut body);
        assert_eq!(body, b"{\"msg\":\"*** x\"}");
        assert!(matches!(secrets("nothing here"), Cow::Borrowed(_)));
        register("t");
        assert_eq!(text("status"), "status", "too short to mask");
    }
}
