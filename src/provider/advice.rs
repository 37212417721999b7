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

/// The advice for a failure code.
pub fn for_code(code: &str) -> Advice {
    match code {
        // phonefleet's own: the state is unknown or was not confirmed in time.
        "outcome-unknown" | "not-converged" | "unreadable" | "transport" | "throttled"
        | "no-job" | "job-failed" => Advice::Retry,
        // Huawei CPH.
        "CPS.0003" => Advice::Retry,
        "CPS.0004" | "CPS.0005" => Advice::Person(
            "the phone does not exist at the provider: fix its id in the spec or remove it",
        ),
        "CPS.0001" => Advice::Person(
            "the credentials have no permission on this project: grant it in IAM or use other credentials",
        ),
        "CPS.0006" | "CPS.0007" | "CPS.0008" => Advice::Person(
            "the Huawei Cloud account is restricted (arrears, frozen or not verified): resolve it in the console",
        ),
        // GeeLark.
        "43005" | "43010" | "43020" | "43029" | "45002" | "47002" | "50000" => Advice::Retry,
        "43006" => Advice::Person(
            "someone is connected to the phone remotely: end that session, then apply again",
        ),
        "43007" | "43021" => {
            Advice::Person("another user is using the phone: free it, then apply again")
        }
        "42001" | "47004" => Advice::Person(
            "the phone does not exist at the provider: fix its id in the spec or remove it",
        ),
        "43004" => Advice::Person("the phone has expired: renew it in GeeLark's console"),
        "43008" => {
            Advice::Person("GeeLark's daily start limit is reached: apply again after 00:00 UTC")
        }
        "missing-credentials" => {
            Advice::Person("set the credential variables the spec names, then apply again")
        }
        "unsupported" => Advice::Person(
            "the provider offers no API for this change: change it in the provider's console or the spec",
        ),
        c if c.starts_with("HTTP 5") || c == "HTTP 429" => Advice::Retry,
        c if c.starts_with("APIGW.0301") || c == "HTTP 401" || c == "HTTP 403" => Advice::Person(
            "the provider refused the credentials: check the variables the spec names",
        ),
        _ => Advice::Person("read the provider's message above; apply again once it is dealt with"),
    }
}

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
    }
}
