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

    /// Add a value and the forms it takes inside URLs and encoded blobs (percent-encoded, base64 and
    /// URL-safe base64 at each of the three byte alignments), so an echo in any of them is masked too.
    fn add(&self, value: &str) {
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut all = self.0.write().unwrap_or_else(|p| p.into_inner());
        let before = all.len();
        for form in std::iter::once(value.to_owned()).chain(encoded_forms(value)) {
            if form.len() >= MIN_SECRET_LEN && !all.contains(&form) {
                all.push(form);
            }
        }
        if all.len() != before {
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

/// `value` percent-encoded (upper and lower case hex), and the base64 text (standard and URL-safe
/// alphabets) that stands for it wherever it starts in an encoded blob: for each of the three byte
/// alignments, the characters that depend on the value's bytes alone.
fn encoded_forms(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let percent: String = value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    if percent != value {
        out.push(lower_escapes(&percent));
        out.push(percent);
    }
    for alphabet in [BASE64, BASE64_URL] {
        for skip in 0..3usize {
            let mut bytes = vec![0u8; skip];
            bytes.extend_from_slice(value.as_bytes());
            let text = base64(&bytes, alphabet);
            // Whole groups of 3 bytes map to 4 characters: the first group mixes in the bytes before
            // the value, the last partial one the bytes after it.
            let start = if skip == 0 { 0 } else { 4 };
            let end = bytes.len() / 3 * 4;
            if end > start + 4 {
                out.push(text[start..end].to_owned());
            }
        }
    }
    out
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 without padding (only whole groups are ever used).
fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// `%XX` escapes with lower-case hex digits.
fn lower_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut escape = 0;
    for c in s.chars() {
        if escape > 0 {
            escape -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            escape = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
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

/// Which property keys hold sensitive values (set once per run from the spec's patterns).
type KeyTest = Box<dyn Fn(&str) -> bool + Send + Sync>;
static PRIVATE_KEYS: RwLock<Option<KeyTest>> = RwLock::new(None);

/// Say which property keys are sensitive, before any call, so that live values are registered with
/// [`register_private`] as soon as a provider reports them ([`private_properties`]).
pub fn set_private_keys(test: impl Fn(&str) -> bool + Send + Sync + 'static) {
    *PRIVATE_KEYS.write().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(test));
}

/// Register the values of the sensitive keys among properties just read from a provider.
pub fn private_properties<'a>(props: impl IntoIterator<Item = (&'a String, &'a String)>) {
    let keys = PRIVATE_KEYS.read().unwrap_or_else(|p| p.into_inner());
    let Some(test) = keys.as_ref() else { return };
    for (k, v) in props {
        if test(k) {
            PRIVATE.add(v);
        }
    }
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
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
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
        assert_eq!(
            text("a\u{2028}b\u{2029}c\u{85}"),
            "a\\u{2028}b\\u{2029}c\\u{85}"
        );
    }

    #[test]
    fn encoded_echoes_of_a_secret_are_masked() {
        let secret = "sk/9+Zq=w7 x&y";
        register(secret);
        let url = "https://x.test/?k=sk%2F9%2BZq%3Dw7%20x%26y&z=1";
        assert!(!text(url).contains("sk%2F9"), "{}", text(url));
        let lower = text("k=sk%2f9%2bZq%3dw7%20x%26y");
        assert!(!lower.contains("%2f9"), "{lower}");
        for prefix in ["", "a", "ab", "abc"] {
            let blob = base64(format!("{prefix}{secret}tail").as_bytes(), BASE64);
            let shown = text(&format!("Basic {blob}"));
            assert!(shown.contains(MASK), "{prefix:?}: {shown}");
            let url_safe = base64(format!("{prefix}{secret}").as_bytes(), BASE64_URL);
            assert!(text(&url_safe).contains(MASK), "{prefix:?}");
        }
        assert_eq!(base64(b"Man", BASE64), "TWFu");
        assert_eq!(base64(b"Ma", BASE64), "TWE");
    }
}
