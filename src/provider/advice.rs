//! What a per-phone failure means for the person running apply: retry it (a second apply may pass), or
//! act first (and what to do), by the provider's error code or phonefleet's own. Codes come from the
//! providers' documentation (shared/providers.md); an unknown code needs a look, never a blind retry.

/// What to do about one failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    /// A passing condition: the next apply may succeed.
    Retry,
    /// A person must act first; what to do.
    Person(&'static str),
}

/// The advice for a failure code: phonefleet's own codes here, each provider's codes from its dialect
/// ([`super::dialect::Dialect::advice`]; the kinds' codes do not overlap), then by HTTP status.
pub fn for_code(code: &str) -> Advice {
    for_failure(code, None)
}

/// The advice for a failure code of an action (`start`, `stop`...; `None` for a read): a code may mean
/// one thing on one API and another elsewhere (GeeLark's 43020).
pub fn for_failure(code: &str, action: Option<&str>) -> Advice {
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
    use crate::spec::ProviderKind;
    let vendor = [
        ProviderKind::HuaweiCph,
        ProviderKind::Geelark,
        ProviderKind::Koophone,
    ]
    .into_iter()
    .find_map(|kind| (super::dialect::of(kind).advice)(code, action));
    if let Some(advice) = vendor {
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

    #[test]
    fn retryable_and_permanent_codes() {
        for code in [
            "outcome-unknown",
            "not-converged",
            "43005",
            "HTTP 503",
            "CPS.0003",
        ] {
            assert_eq!(for_code(code), Advice::Retry, "{code}");
        }
        for code in [
            "43006",
            "CPS.0021",
            "42001",
            "CPS.0005",
            "unsupported",
            "SOMETHING.NEW",
        ] {
            assert!(matches!(for_code(code), Advice::Person(_)), "{code}");
        }
        // GeeLark's 43020: "unavailable, try later" on the start page, "backup data exception" in the
        // global table.
        assert_eq!(for_failure("43020", Some("start")), Advice::Retry);
        assert!(matches!(
            for_failure("43020", Some("stop")),
            Advice::Person(_)
        ));
    }
}
