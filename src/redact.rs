//! Provider text is data: every secret value of the run is replaced by `***`, and control characters
//! (including newlines, ANSI escape sequences and Unicode direction overrides) are shown escaped, before
//! anything a provider sent is printed, logged, put in `--json` or written to a plan file.
//!
//! The secrets are the values read from the environment variables a spec names; they are registered here
//! as they are read ([`register`]), before any call is made. Cleaning is done where provider text enters
//! the program (the HTTP layer and the provider clients), so nothing downstream sees a raw value.
//!
//! Every registered value and each of its encoded forms is matched in one pass (an Aho-Corasick
//! automaton, leftmost-longest so that a value containing another is masked whole), rebuilt only when
//! the set changes; a body that holds none of them is scanned once and left as it is.
//!
//! The values belong to a [`Masks`], which the fleet handle ([`crate::ops::fleet::Fleet`]) owns: there
//! is no registry of the process. The handle's operations (opening, reading, applying) run within its
//! masks' scope ([`scoped`], a task-local binding), so that the cleaning done deep in the HTTP layer and
//! the provider clients finds them without every function passing them on; outside any scope only
//! control characters are escaped. A new handle starts empty, and the sensitive values read from the
//! providers are those of the last read only ([`begin_read`]), so a `watch` that runs for days,
//! re-reading its spec and its fleet, does not grow the set.

use std::borrow::Cow;
use std::sync::RwLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Raw values of one kind, in the groups that are forgotten at different times, and their automaton.
#[derive(Default)]
struct Set {
    /// Registered by the fleet handle in use.
    fleet: Vec<String>,
    /// Read from the providers in the last read.
    read: Vec<String>,
    /// Every value and its encoded forms, compiled; `None` until first needed after a change.
    compiled: Option<Compiled>,
}

struct Compiled {
    /// `None` when there is nothing to mask.
    automaton: Option<AhoCorasick>,
}

impl Set {
    fn group(&mut self, group: Group) -> &mut Vec<String> {
        match group {
            Group::Fleet => &mut self.fleet,
            Group::Read => &mut self.read,
        }
    }

    fn add(&mut self, group: Group, value: &str) {
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let values = self.group(group);
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
            self.compiled = None;
        }
    }

    fn clear(&mut self, group: Group) {
        let values = self.group(group);
        if !values.is_empty() {
            values.clear();
            self.compiled = None;
        }
    }

    fn compile(&self) -> Compiled {
        let mut forms: Vec<String> = Vec::new();
        for value in self.fleet.iter().chain(&self.read) {
            for form in std::iter::once(value.clone()).chain(encoded_forms(value)) {
                if form.len() >= MIN_SECRET_LEN {
                    forms.push(form);
                }
            }
        }
        forms.sort_unstable();
        forms.dedup();
        let automaton = (!forms.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&forms)
                .expect("plain strings build an automaton")
        });
        Compiled { automaton }
    }
}

/// Which group a value belongs to.
#[derive(Clone, Copy)]
enum Group {
    Fleet,
    Read,
}

/// One kind of value to mask, behind a lock: read on every answer, written when values are registered.
struct Registry(RwLock<Set>);

impl Registry {
    fn new() -> Registry {
        Registry(RwLock::new(Set::default()))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Set> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` with the automaton, compiling it first if the set changed.
    fn with<T>(&self, f: impl FnOnce(Option<&AhoCorasick>) -> T) -> T {
        {
            let set = self.0.read().unwrap_or_else(|p| p.into_inner());
            if let Some(c) = &set.compiled {
                return f(c.automaton.as_ref());
            }
        }
        let mut set = self.write();
        if set.compiled.is_none() {
            set.compiled = Some(set.compile());
        }
        f(set.compiled.as_ref().and_then(|c| c.automaton.as_ref()))
    }

    fn replace<'a>(&self, s: &'a str, mask: &str) -> Cow<'a, str> {
        self.with(|automaton| match automaton {
            Some(ac) if ac.is_match(s) => {
                let mut out = String::with_capacity(s.len());
                ac.replace_all_with(s, &mut out, |_, _, dst| {
                    dst.push_str(mask);
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(s),
        })
    }

    fn len(&self) -> usize {
        let set = self.0.read().unwrap_or_else(|p| p.into_inner());
        set.fleet.len() + set.read.len()
    }
}

/// Which property keys hold sensitive values.
type KeyTest = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// The values one fleet handle masks: its credentials' (secrets), and the sensitive property values
/// its spec declares and its providers report.
pub struct Masks {
    secrets: Registry,
    private: Registry,
    private_keys: RwLock<Option<KeyTest>>,
}

impl std::fmt::Debug for Masks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masks")
            .field("secrets", &self.secrets.len())
            .field("private", &self.private.len())
            .finish()
    }
}

impl Masks {
    /// Nothing to mask yet.
    pub fn new() -> std::sync::Arc<Masks> {
        std::sync::Arc::new(Masks {
            secrets: Registry::new(),
            private: Registry::new(),
            private_keys: RwLock::new(None),
        })
    }

    /// How many raw values are registered (secrets, sensitive values).
    pub fn registered(&self) -> (usize, usize) {
        (self.secrets.len(), self.private.len())
    }
}

tokio::task_local! {
    /// The masks of the fleet handle whose operation is running in this task.
    static MASKS: std::sync::Arc<Masks>;
}

/// Run `f` with `masks` in force for every cleaning it does.
pub async fn scoped<F: std::future::Future>(masks: &std::sync::Arc<Masks>, f: F) -> F::Output {
    MASKS.scope(masks.clone(), f).await
}

/// [`scoped`], for synchronous work.
pub fn sync_scoped<R>(masks: &std::sync::Arc<Masks>, f: impl FnOnce() -> R) -> R {
    MASKS.sync_scope(masks.clone(), f)
}

/// `f` of the masks in force, if any.
fn with_masks<R>(f: impl FnOnce(&Masks) -> R) -> Option<R> {
    MASKS.try_with(|m| f(m)).ok()
}

/// `value` percent-encoded (upper and lower case hex), and the base64 text (standard and URL-safe
/// alphabets) that stands for it wherever it starts in an encoded blob: for each of the three byte
/// alignments, the characters that depend on the value's bytes alone.
fn encoded_forms(value: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = Vec::new();
    let percent: String = percent_encoding::utf8_percent_encode(value, URL_COMPONENT).to_string();
    if percent != value {
        out.push(lower_escapes(&percent));
        out.push(percent);
    }
    for engine in [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for skip in 0..3usize {
            let mut bytes = vec![0u8; skip];
            bytes.extend_from_slice(value.as_bytes());
            let text = engine.encode(&bytes);
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

/// Everything but unreserved characters (RFC 3986: letters, digits, `-`, `.`, `_`, `~`) is escaped.
const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

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

/// Values shorter than this are not masked: they cannot be told apart from ordinary text (masking a
/// one-letter value would garble every answer), and no real credential is that short.
pub const MIN_SECRET_LEN: usize = 6;

/// Remember a secret value (a credential, a webhook URL, the plan key) in the masks in force, so that
/// it is masked wherever provider text shows it.
pub fn register(value: &str) {
    with_masks(|m| m.secrets.write().add(Group::Fleet, value));
}

/// A read of the fleet starts: the sensitive values the last one read are forgotten.
pub fn begin_read() {
    with_masks(|m| m.private.write().clear(Group::Read));
}

/// What a sensitive property value is replaced with in provider text.
pub const PRIVATE_MASK: &str = "(sensitive)";

/// Remember a sensitive property value the spec declares (a phone number, an IMSI) so that a provider
/// message echoing it shows [`PRIVATE_MASK`] instead. Unlike secrets, these are not masked in answers'
/// data, which phonefleet must compare; only in the text it shows.
pub fn register_private(value: &str) {
    with_masks(|m| m.private.write().add(Group::Fleet, value));
}

/// Remember a sensitive value a provider reported, until the next read ([`begin_read`]).
pub fn register_private_read(value: &str) {
    with_masks(|m| m.private.write().add(Group::Read, value));
}

/// Say which property keys are sensitive, before any call, so that live values are registered as soon
/// as a provider reports them ([`private_properties`]).
pub fn set_private_keys(test: impl Fn(&str) -> bool + Send + Sync + 'static) {
    with_masks(|m| {
        *m.private_keys.write().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(test));
    });
}

/// Register the values of the sensitive keys among properties just read from a provider (until the
/// next read, [`begin_read`]).
pub fn private_properties<'a>(props: impl IntoIterator<Item = (&'a String, &'a String)>) {
    with_masks(|m| {
        let keys = m.private_keys.read().unwrap_or_else(|p| p.into_inner());
        let Some(test) = keys.as_ref() else { return };
        let mut private = None;
        for (k, v) in props {
            if test(k) {
                private
                    .get_or_insert_with(|| m.private.write())
                    .add(Group::Read, v);
            }
        }
    });
}

/// `s` with the values of one registry of the masks in force replaced by `mask`. Nothing is copied
/// unless something is masked: this runs on every id a listing shows.
fn masked<'a>(s: &'a str, registry: fn(&Masks) -> &Registry, mask: &str) -> Cow<'a, str> {
    match with_masks(|m| match registry(m).replace(s, mask) {
        Cow::Owned(masked) => Some(masked),
        Cow::Borrowed(_) => None,
    }) {
        Some(Some(masked)) => Cow::Owned(masked),
        _ => Cow::Borrowed(s),
    }
}

/// `s` with every registered secret replaced by [`MASK`].
pub fn secrets(s: &str) -> Cow<'_, str> {
    masked(s, |m| &m.secrets, MASK)
}

/// Raw bytes (a response body) with every registered secret replaced by [`MASK`], in one pass; a body
/// that holds none is left as it is.
pub fn secrets_in_bytes(body: &mut Vec<u8>) {
    with_masks(|m| {
        m.secrets.with(|automaton| {
            if let Some(ac) = automaton
                && ac.is_match(body.as_slice())
            {
                let mut out = Vec::with_capacity(body.len());
                ac.replace_all_with_bytes(body, &mut out, |_, _, dst| {
                    dst.extend_from_slice(MASK.as_bytes());
                    true
                });
                *body = out;
            }
        });
    });
}

/// `s` with the sensitive values of the masks in force replaced by [`PRIVATE_MASK`].
fn private(s: &str) -> Cow<'_, str> {
    masked(s, |m| &m.private, PRIVATE_MASK)
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
    controls(&private(&secrets(s))).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_controls_escaped() {
        sync_scoped(&Masks::new(), || {
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
        });
    }

    #[test]
    fn encoded_echoes_of_a_secret_are_masked() {
        sync_scoped(&Masks::new(), || {
            let secret = "sk/9+Zq=w7 x&y";
            register(secret);
            let url = "https://x.test/?k=sk%2F9%2BZq%3Dw7%20x%26y&z=1";
            assert!(!text(url).contains("sk%2F9"), "{}", text(url));
            let lower = text("k=sk%2f9%2bZq%3dw7%20x%26y");
            assert!(!lower.contains("%2f9"), "{lower}");
            for prefix in ["", "a", "ab", "abc"] {
                use base64::Engine;
                let blob = base64::engine::general_purpose::STANDARD_NO_PAD
                    .encode(format!("{prefix}{secret}tail").as_bytes());
                let shown = text(&format!("Basic {blob}"));
                assert!(shown.contains(MASK), "{prefix:?}: {shown}");
                let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(format!("{prefix}{secret}").as_bytes());
                assert!(text(&url_safe).contains(MASK), "{prefix:?}");
            }
        });
    }

    /// The values belong to the masks of one handle: another handle's scope, or no scope at all,
    /// masks none of them; dropping the handle's masks drops them.
    #[test]
    fn masks_belong_to_their_handle() {
        let one = Masks::new();
        let other = Masks::new();
        sync_scoped(&one, || register("handle-one-secret"));
        sync_scoped(&one, || assert_eq!(text("x handle-one-secret"), "x ***"));
        sync_scoped(&other, || {
            assert_eq!(text("x handle-one-secret"), "x handle-one-secret");
        });
        assert_eq!(text("x handle-one-secret"), "x handle-one-secret");
        assert_eq!(one.registered(), (1, 0));
        assert_eq!(other.registered(), (0, 0));
    }

    /// A watch reads its fleet every tick for days: the sensitive values each read registers replace the
    /// last read's instead of adding to them.
    #[test]
    fn reading_again_does_not_grow_the_registry() {
        let masks = Masks::new();
        sync_scoped(&masks, || {
            set_private_keys(|k| k.starts_with("sys.prop.writephonenum"));
            for tick in 0..100 {
                begin_read();
                let props: Vec<(String, String)> = (0..50)
                    .map(|i| {
                        (
                            "sys.prop.writephonenum".to_owned(),
                            format!("1366{tick:03}{i:04}"),
                        )
                    })
                    .collect();
                private_properties(props.iter().map(|(k, v)| (k, v)));
                assert!(text("echo 13660990049").contains(PRIVATE_MASK) || tick != 99);
            }
            assert_eq!(masks.registered(), (0, 50));
            begin_read();
            assert!(!text("echo 13660990049").contains(PRIVATE_MASK));
        });
    }
}
