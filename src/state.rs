//! The observed fleet: plain data that providers fill in and `plan` reads. Also the normalisation of
//! each provider's raw status codes (providers.md 0.2), so no other module knows the numbers.

use foldhash::HashMap;

use serde::{Deserialize, Serialize};

use crate::spec::{Properties, ProviderKind, Traffic};

/// A raw status, normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Power {
    /// Powered on.
    Running,
    /// Shut down.
    Stopped,
    /// On its way somewhere: wait and plan again.
    Transitioning,
    /// Abnormal: needs a person.
    Failed,
}

/// What a provider reported for one phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPhone {
    /// The provider's raw status code.
    pub raw_status: i64,
    /// Normalised power state.
    pub power: Power,
    /// Current route (huawei-cph).
    pub traffic: Option<Traffic>,
    /// Current properties (huawei-cph, read only when the spec declares some).
    pub properties: Option<Properties>,
    /// The name the provider shows (CPH `phone_name`, GeeLark `serialName`), cleaned like any provider
    /// text; read with the status at no extra cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Property keys set by an earlier apply without the restart they need (CPH `custom_property`
    /// `phonefleet.restart_pending`, read with the properties).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_pending: Vec<String>,
    /// GeeLark, when read through the listing: its group's name (`""`: ungrouped), its tags' names and
    /// its remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
    /// huawei-cph: the image it runs and its device identity, read with the status (boxed: most
    /// kinds have none, and 100,000 observations are kept small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Box<Device>>,
}

/// What CPH's list says of a phone's device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The image it runs (`image_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its device identity (`imei`), which a reset changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// What GeeLark's phone list says of a phone beyond its status and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Details {
    /// Its group's name; empty when ungrouped.
    pub group: String,
    /// Its tags' names.
    pub tags: std::collections::BTreeSet<String>,
    /// Its remark.
    pub remark: String,
    /// Its proxy, as the name of the declared proxy it matches in scheme, server, port, username and
    /// password (compared when read; the listed password is never kept), `""` for none, or
    /// [`OTHER_PROXY`].
    #[serde(default)]
    pub proxy: String,
}

/// A phone's proxy that is none of those its provider entry declares.
pub const OTHER_PROXY: &str = "(another proxy)";

impl ObservedPhone {
    /// A phone whose provider reports only its power state (GeeLark, KooPhone).
    pub fn power_only(kind: ProviderKind, raw_status: i64) -> ObservedPhone {
        ObservedPhone {
            raw_status,
            power: normalise(kind, raw_status),
            traffic: None,
            properties: None,
            name: None,
            restart_pending: Vec::new(),
            details: None,
            device: None,
        }
    }

    /// The image it runs (CPH).
    pub fn image(&self) -> Option<&str> {
        self.device.as_ref()?.image.as_deref()
    }

    /// Its device identity (CPH `imei`).
    pub fn identity(&self) -> Option<&str> {
        self.device.as_ref()?.identity.as_deref()
    }

    /// The same phone with the name its provider shows (cleaned: it is shown and compared).
    pub fn named(mut self, name: Option<&str>) -> ObservedPhone {
        self.name = name.map(crate::redact::text).filter(|n| !n.is_empty());
        self
    }
}

/// The result of looking for one phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// The provider knows the phone.
    Found(ObservedPhone),
    /// The provider says there is no such phone.
    NotFound,
    /// The phone could not be read (after retries), or the answer about it was ambiguous: the reason,
    /// already cleaned of secrets and control characters. Planned as blocked; never acted on.
    Unreadable(String),
}

impl Observation {
    /// A phone that could not be read, for this reason.
    pub fn unreadable(reason: impl std::fmt::Display) -> Observation {
        Observation::Unreadable(crate::redact::text(&reason.to_string()))
    }
}

/// Observations by provider name, then phone id (two levels, so lookups by `&str` allocate nothing).
#[derive(Debug, Clone, Default)]
pub struct FleetState {
    /// Every phone looked up.
    pub phones: HashMap<String, ProviderPhones>,
    /// Per provider: phones the account holds that the spec does not declare (when counted).
    pub unmanaged: std::collections::BTreeMap<String, Unmanaged>,
    /// Providers that could not be read at all (their phones are unreadable): why, and advice.
    pub failed_providers: std::collections::BTreeMap<String, ProviderFailure>,
}

/// One provider's observations, by phone id.
pub type ProviderPhones = HashMap<String, Observation>;

/// Why a whole provider could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFailure {
    /// The error, cleaned.
    pub reason: String,
    /// What a person can do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Phones at a provider that no spec entry declares; phonefleet never changes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmanaged {
    /// How many.
    pub count: usize,
    /// Why they could not be counted (the count is then unknown and `count` is 0). Counting only
    /// informs, so a failure is a warning, never a failed plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// Their ids, when the account was listed (`plan -v`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<Vec<String>>,
}

impl FleetState {
    /// The observation of one phone, if it was looked up.
    pub fn get(&self, provider: &str, id: &str) -> Option<&Observation> {
        self.phones.get(provider)?.get(id)
    }

    /// Record a provider's observations at once: its map is taken as it is (100,000 phones are not
    /// hashed a second time).
    pub fn insert_all(&mut self, provider: &str, found: HashMap<String, Observation>) {
        match self.phones.get_mut(provider) {
            Some(known) => known.extend(found),
            None => {
                self.phones.insert(provider.to_owned(), found);
            }
        }
    }

    /// Record an observation.
    pub fn insert(&mut self, provider: &str, id: String, obs: Observation) {
        self.phones
            .entry(provider.to_owned())
            .or_default()
            .insert(id, obs);
    }
}

/// Normalise a raw status code of a provider kind (providers.md 0.2): the kind's
/// [`crate::provider::dialect`] decides.
pub fn normalise(kind: ProviderKind, raw: i64) -> Power {
    (crate::provider::dialect::of(kind).power)(raw)
}

/// What a raw status code means, in the provider's own words.
pub fn meaning(kind: ProviderKind, raw: i64) -> &'static str {
    (crate::provider::dialect::of(kind).meaning)(raw)
}

/// The raw status a provider reports for a settled power state (used by the simulator and exports).
pub fn raw_for(kind: ProviderKind, power: crate::spec::PowerState) -> i64 {
    (crate::provider::dialect::of(kind).raw_for)(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_providers_md_0_2() {
        use ProviderKind::*;
        for (kind, raw, power) in [
            (HuaweiCph, 2, Power::Running),
            (HuaweiCph, 8, Power::Stopped),
            (HuaweiCph, 7, Power::Transitioning),
            (HuaweiCph, 6, Power::Failed),
            (HuaweiCph, -9, Power::Failed),
            (Geelark, 0, Power::Running),
            (Geelark, 1, Power::Transitioning),
            (Geelark, 2, Power::Stopped),
            (Geelark, 3, Power::Failed),
            (Koophone, 1, Power::Stopped),
            (Koophone, 5, Power::Stopped),
            (Koophone, 3, Power::Transitioning),
            (Koophone, 0, Power::Failed),
        ] {
            assert_eq!(normalise(kind, raw), power, "{kind} {raw}");
        }
        assert_eq!(meaning(HuaweiCph, -7), "phone abnormal");
    }
}
