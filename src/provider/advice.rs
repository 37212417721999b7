//! What a per-phone failure means for the person running apply: retry it (a second apply may pass), or
//! act first (and what to do), by the provider's error code or phonefleet's own. Codes come from the
//! providers' documentation (shared/providers.md); an unknown code needs a look, never a blind retry.

use crate::spec::ProviderKind;

/// What to do about one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// A passing condition: the next apply may succeed.
    Retry,
    /// A person must act first; what to do.
    Person(&'static str),
}

/// The advice for a failure code of a read at a provider of `kind`.
pub fn for_code(kind: ProviderKind, code: &str) -> Advice {
    for_failure(kind, code, None)
}

/// The advice for a failure code of an action (`start`, `stop`...; `None` for a read) at a provider of
/// `kind`: phonefleet's own codes here, then that kind's codes from its dialect
/// ([`super::dialect::Dialect::advice`]; a code means what its own kind says, whatever another kind
/// means by it), then by HTTP status. A code may mean one thing on one API and another elsewhere
/// (GeeLark's 43020).
pub fn for_failure(kind: ProviderKind, code: &str, action: Option<&str>) -> Advice {
    // A reset is never re-sent on its own: one whose fate is unknown needs a look first.
    if action == Some("reset") && matches!(code, "outcome-unknown" | "not-converged" | "no-answer")
    {
        return Advice::Person(
            "the phone did not show that its reset finished: check it in the provider's console; \
             plan --reset it again only if it was not reset",
        );
    }
    match code {
        // phonefleet's own: the state is unknown or was not confirmed in time.
        "outcome-unknown" | "not-converged" | "unreadable" | "transport" | "throttled"
        | "no-job" | "job-failed" | "job-mismatch" | "ambiguous-job" | "no-answer" => {
            return Advice::Retry;
        }
        "missing-credentials" => {
            return Advice::Person("set the credential variables the spec names, then apply again");
        }
        "unsupported" => {
            return Advice::Person(
                "the provider offers no API for this change: change it in the provider's console or the spec",
            );
        }
        _ => {}
    }
    if let Some(advice) = (super::dialect::of(kind).advice)(code, action) {
        return advice;
    }
    match code {
        c if c.starts_with("HTTP 5") || c == "HTTP 429" => Advice::Retry,
        "HTTP 401" => Advice::Person(
            "the provider refused the credentials: check the variables the spec names",
        ),
        "HTTP 403" => Advice::Person(
            "the credentials lack permission for this API: grant it to the account, then apply again",
        ),
        _ => Advice::Person("read the provider's message above; apply again once it is dealt with"),
    }
}

/// The same advice for "the phone does not exist", whichever provider says it.
pub(super) const NO_SUCH_PHONE: Advice =
    Advice::Person("the phone does not exist at the provider: fix its id in the spec or remove it");

#[cfg(test)]
mod tests {
    use super::*;
    use ProviderKind::{Geelark, HuaweiCph, Koophone};

    #[test]
    fn a_reset_that_did_not_come_back_needs_a_look() {
        assert!(matches!(
            for_failure(Koophone, "not-converged", Some("reset")),
            Advice::Person(s) if s.contains("check it in the provider's console")
        ));
        assert_eq!(
            for_failure(Koophone, "not-converged", Some("start")),
            Advice::Retry
        );
    }

    #[test]
    fn retryable_and_permanent_codes() {
        for (kind, code) in [
            (HuaweiCph, "outcome-unknown"),
            (Koophone, "not-converged"),
            (Geelark, "43005"),
            (Geelark, "HTTP 503"),
            (HuaweiCph, "CPS.0003"),
        ] {
            assert_eq!(for_code(kind, code), Advice::Retry, "{code}");
        }
        for (kind, code) in [
            (Geelark, "43006"),
            (HuaweiCph, "CPS.0021"),
            (Geelark, "42001"),
            (HuaweiCph, "CPS.0005"),
            (Geelark, "unsupported"),
            (HuaweiCph, "SOMETHING.NEW"),
        ] {
            assert!(matches!(for_code(kind, code), Advice::Person(_)), "{code}");
        }
        // A code is read in its own kind's terms: GeeLark's 43005 (a task is running: retry) is an
        // unknown code at CPH, for a person to read.
        assert!(matches!(for_code(HuaweiCph, "43005"), Advice::Person(_)));
        // GeeLark's 43020: "unavailable, try later" on the start page, "backup data exception" in the
        // global table.
        assert_eq!(for_failure(Geelark, "43020", Some("start")), Advice::Retry);
        assert!(matches!(
            for_failure(Geelark, "43020", Some("stop")),
            Advice::Person(_)
        ));
    }
}
