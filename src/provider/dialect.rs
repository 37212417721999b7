//! A provider kind's dialect: what its raw status codes mean, which raw status a settled power state
//! has, how its error answers are classified, and which property keys need a restart. Each vendor
//! module owns its own ([`super::huawei_cph::DIALECT`], [`super::geelark::DIALECT`],
//! [`super::koophone::DIALECT`]); the shared layers (`state`, `plan`, the HTTP error classification)
//! ask [`of`] and never match on a kind themselves. What a kind *can do* stays in
//! [`crate::capability`].

use crate::spec::{PowerState, ProviderKind};
use crate::state::Power;

/// What an error answer means for the run, beyond its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The credentials were refused (bad or expired).
    Auth,
    /// The credentials work but lack permission for this API (a sub-account, an IP allow-list).
    Permission,
    /// The API is locked for a while (GeeLark 40014: two hours).
    Locked,
    /// The host has no such API: a wrong endpoint or region.
    Endpoint,
    /// About one phone, not the account (KooPhone's per-instance refusals, even with HTTP 401).
    PerPhone,
    /// Anything else: the HTTP error as it is.
    Other,
}

/// A provider's code, message and request id in an error answer.
pub type ErrorFields = (Option<String>, Option<String>, Option<String>);

/// One kind's dialect.
#[derive(Debug)]
pub struct Dialect {
    /// Normalise a raw status code (providers.md 0.2).
    pub power: fn(i64) -> Power,
    /// What a raw status code means, in the provider's own words.
    pub meaning: fn(i64) -> &'static str,
    /// The power state a transitioning status leads to (`starting` -> running), if known.
    pub toward: fn(i64) -> Option<PowerState>,
    /// The raw status of a settled power state (the simulator and exports use it).
    pub raw_for: fn(PowerState) -> i64,
    /// Classify an error answer by its HTTP status and provider code.
    pub classify: fn(Option<u16>, &str) -> Class,
    /// Property keys known to take effect only after a restart (providers.md 0.4).
    /// Failed statuses a restart may cure (`watch.heal: [restart]`); the others need a person
    /// (expired, frozen, a failed creation).
    pub restart_cures: fn(i64) -> bool,
    pub restart_keys: &'static [&'static str],
    /// Its code, message and request id in an error answer's JSON.
    pub error_fields: fn(&serde_json::Value) -> ErrorFields,
    /// What a per-phone failure code of this kind, on an action (its name; `None` for a read), asks of
    /// the person running apply (`None`: not one of this kind's codes).
    pub advice: fn(&str, Option<&str>) -> Option<super::advice::Advice>,
}

/// The dialect of `kind`.
pub fn of(kind: ProviderKind) -> &'static Dialect {
    super::kind::of(kind).dialect
}

/// Huawei's error body (CPH, and KooPhone outside its list answer): `error_code`, `error_msg`,
/// `request_id`.
pub(super) fn huawei_error_fields(v: &serde_json::Value) -> ErrorFields {
    use super::http::text_field;
    (
        text_field(v, "error_code"),
        text_field(v, "error_msg").or_else(|| text_field(v, "message")),
        text_field(v, "request_id"),
    )
}

/// By HTTP status alone: 401 refuses the credentials, 403 says they lack permission (Huawei documents
/// 403 as "no permission for the operation" on every API).
pub(super) fn by_status(status: Option<u16>) -> Class {
    match status {
        Some(401) => Class::Auth,
        Some(403) => Class::Permission,
        _ => Class::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_classifies_its_own_codes() {
        let cph = of(ProviderKind::HuaweiCph).classify;
        assert_eq!(cph(Some(401), "APIGW.0301"), Class::Auth);
        assert_eq!(cph(Some(404), "APIGW.0101"), Class::Endpoint);
        assert_eq!(cph(Some(403), "CPS.0003"), Class::Permission);
        assert_eq!(cph(Some(400), "CPS.0005"), Class::Other);
        let gl = of(ProviderKind::Geelark).classify;
        assert_eq!(gl(Some(200), "40014"), Class::Locked);
        assert_eq!(gl(Some(200), "40015"), Class::Permission);
        assert_eq!(gl(Some(200), "40016"), Class::Permission);
        assert_eq!(gl(Some(200), "40003"), Class::Auth);
        assert_eq!(gl(Some(200), "42001"), Class::Other);
        let kp = of(ProviderKind::Koophone).classify;
        assert_eq!(kp(Some(401), "KOOPHONE.API.1001"), Class::PerPhone);
        assert_eq!(kp(Some(401), "APIGW.0301"), Class::Auth);
        assert_eq!(kp(Some(403), ""), Class::Permission);
    }

    #[test]
    fn statuses_and_restart_keys_come_from_the_kind() {
        use crate::state::Power;
        let cph = of(ProviderKind::HuaweiCph);
        assert_eq!((cph.power)(2), Power::Running);
        assert_eq!((cph.meaning)(-7), "phone abnormal");
        assert!(cph.restart_keys.contains(&"com.cph.mainkeys"));
        assert!(of(ProviderKind::Geelark).restart_keys.is_empty());
        for kind in [
            ProviderKind::HuaweiCph,
            ProviderKind::Geelark,
            ProviderKind::Koophone,
        ] {
            let d = of(kind);
            for power in [PowerState::Running, PowerState::Stopped] {
                let raw = (d.raw_for)(power);
                let back = if power == PowerState::Running {
                    Power::Running
                } else {
                    Power::Stopped
                };
                assert_eq!((d.power)(raw), back, "{kind} {power:?}");
            }
        }
    }
}
