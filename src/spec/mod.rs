//! The fleet spec: the YAML file a team keeps in git (format version 1).
//!
//! This module owns the serde + schemars types, which are the public contract of the file format, and the
//! expansion of `groups` into one desired state per phone. Loading (YAML, schema, line numbers) lives in
//! [`load`], semantic checks in [`validate`]. Nothing here does I/O except `load`.

pub mod diagnostic;
mod directory;
pub mod load;
mod pool;
mod position;
pub mod reach;
mod report;
pub mod scan;
mod schedule;
pub(crate) mod suggest;
pub mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use diagnostic::{Diagnostic, Diagnostics};
pub use directory::stamp;
pub use load::{LoadedSpec, Use, load_file, load_file_for, load_str, load_str_for};
pub use pool::{Fate, NEW_ID_PREFIX, POOL_ID_PREFIX, PoolRegion, PoolRole, PoolSpec, PoolTemplate};
pub use schedule::{ScheduleSpec, Scheduled};

/// A fleet spec, version 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "phonefleet fleet spec",
    description = "Which cloud phones exist on which provider account, and the state each should be in."
)]
pub struct FleetSpec {
    /// Format version of this file; phonefleet reads version 1.
    pub version: u32,
    /// Provider accounts, by a name you pick (lowercase letters, digits and '-').
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9-]*$"}))]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Phones, one entry each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneSpec>,
    /// Many phones of one provider with the same settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupSpec>,
    /// geelark: a number of alike phones instead of a list of ids: the account's phones named
    /// `NAME-001`, `NAME-002`, ... are the pool's members; missing ones are created, extra ones deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<PoolSpec>,
    /// When phones should run, by a name you pick: phones, groups and pools name one with
    /// `schedule: NAME` instead of `state`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"pattern": "^[a-z0-9][a-z0-9-]*$"}))]
    pub schedules: BTreeMap<String, ScheduleSpec>,
    /// Guard rails: limits a plan must keep to be applied, and properties never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<Safety>,
    /// `phonefleet watch`: what it may heal on its own, and where it reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<WatchSpec>,
}

/// What `phonefleet watch` may do between pull requests (all optional: by default it observes and
/// reports only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchSpec {
    /// The actions watch takes on its own when a phone drifts: any of `start`, `stop`,
    /// `set_traffic`, `set_properties`, `restart`, `rename`. A drift whose action is not listed is reported,
    /// never acted on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heal: Vec<HealAction>,
    /// Webhooks told of what changed: one POST per tick at most, with that tick's new events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<Notify>,
}

/// An action `watch` may heal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    /// Start a phone declared running.
    Start,
    /// Stop a phone declared stopped (guards apply: `protect` is never stopped).
    Stop,
    /// Re-route a CPH phone.
    SetTraffic,
    /// Write CPH properties.
    SetProperties,
    /// Restart a CPH phone after properties that need one (`restart: when-needed`).
    Restart,
    /// Rename a phone to its declared name (providers with `names: manage`).
    Rename,
    /// Move a GeeLark phone back to its declared group.
    SetGroup,
    /// Give a GeeLark phone its declared tags again.
    SetTags,
    /// Give a GeeLark phone its declared remark again.
    SetRemark,
    /// Give a GeeLark phone its declared proxy again.
    SetProxy,
}

impl HealAction {
    /// The action's name in plans (`set_traffic`).
    pub fn as_str(self) -> &'static str {
        match self {
            HealAction::Start => "start",
            HealAction::Stop => "stop",
            HealAction::SetTraffic => "set_traffic",
            HealAction::SetProperties => "set_properties",
            HealAction::Restart => "restart",
            HealAction::Rename => "rename",
            HealAction::SetGroup => "set_group",
            HealAction::SetTags => "set_tags",
            HealAction::SetRemark => "set_remark",
            HealAction::SetProxy => "set_proxy",
        }
    }
}

/// One webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    /// Name of the environment variable holding the webhook URL (never the URL itself: it is a
    /// secret). `https://`, or `http://` to loopback only.
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub url_env: String,
    /// `json` (phonefleet's event digest, the default) or `slack` (an incoming-webhook `text`).
    #[serde(default)]
    pub format: NotifyFormat,
}

/// The body of a webhook POST.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotifyFormat {
    /// `{"schema": "phonefleet.watch/v1", ...}`.
    #[default]
    Json,
    /// `{"text": "..."}` for a Slack incoming webhook.
    Slack,
}

/// Guard rails for the whole spec (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Safety {
    /// `apply` refuses a plan that changes more phones than this (unless `--override-guards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_changes: Option<u64>,
    /// Per provider: `apply` refuses a plan whose stops are a larger share (in percent, 0-100) of that
    /// provider's declared phones (unless `--override-guards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_stop_percent: Option<u64>,
    /// Per label key: for each value of that label, `apply` refuses a plan whose stops are a larger
    /// share (in percent, 0-100) of the declared phones with that value (`team: 25`: no team loses more
    /// than a quarter of its phones in one apply).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("additionalProperties" = {"type": "integer", "minimum": 0, "maximum": 100}))]
    pub max_stop_percent_by_label: BTreeMap<String, u64>,
    /// `apply` refuses a plan that deletes more phones than this (pools whose `count` dropped). The
    /// default is 0: any delete refuses the plan until the spec allows it (or `--override-guards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_deletes: Option<u64>,
    /// Per provider: `apply` refuses a plan that resets more of its phones than this (`plan --reset`,
    /// a changed `image`), as a number (`10`) or a share of its declared phones (`"5%"`): a reset
    /// clears a phone's data and apps. The default is 0: any reset refuses the plan until the spec
    /// allows it (or `--override-guards`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_resets: Option<Share>,
    /// Property keys whose values are never shown in plans and reports: globs where `*` matches any
    /// run of characters and `?` one character. `sys.prop.writephonenum` and `sys.prop.writeimsi` are
    /// always sensitive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_properties: Vec<String>,
}

/// A limit as a number of phones or a share of a provider's declared phones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Share {
    /// At most this many phones.
    Count(u64),
    /// At most this share, written `"25%"`.
    Percent(String),
}

impl Share {
    /// The percentage of a `"25%"` share (0 to 100), if it is one.
    pub fn percent(&self) -> Option<u64> {
        match self {
            Share::Count(_) => None,
            Share::Percent(p) => p
                .strip_suffix('%')?
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 100),
        }
    }
}

impl JsonSchema for Share {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Share".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A number of phones, or a share of a provider's declared phones (\"25%\").",
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"}
            ]
        })
    }
}

/// The kind of cloud a provider account lives on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Huawei Cloud Cloud Phone Host (CPH).
    HuaweiCph,
    /// GeeLark cloud phones (open API).
    Geelark,
    /// Huawei KooPhone.
    Koophone,
}

impl ProviderKind {
    /// Every kind.
    pub const ALL: [ProviderKind; 3] = [
        ProviderKind::HuaweiCph,
        ProviderKind::Geelark,
        ProviderKind::Koophone,
    ];

    /// The kind a spec spells `s`.
    pub fn parse(s: &str) -> Option<ProviderKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name used in the spec file (`huawei-cph`, `geelark`, `koophone`).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::HuaweiCph => "huawei-cph",
            ProviderKind::Geelark => "geelark",
            ProviderKind::Koophone => "koophone",
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One provider account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Which cloud: `huawei-cph`, `geelark` or `koophone`.
    pub kind: ProviderKind,
    /// huawei-cph: region such as `cn-east-3`; needed unless `endpoint` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// huawei-cph: the project id (required). koophone: optional, sent as `X-Project-Id` with AK/SK
    /// signing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// Base URL of the API; defaults per kind (and region). `http://` only for loopback addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Names of environment variables holding the credentials, never the secrets themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// Overrides of the provider's default batch size, request rate and concurrency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// geelark: the form of the `traceId` header (`uuid`, the default, or `hex32`). GeeLark's docs show
    /// both and do not say which the server requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id_format: Option<TraceIdFormat>,
    /// What a phone's `name` is: `show` (the default: a label phonefleet shows, never sent) or `manage`
    /// (the phone's name at the provider: a phone named otherwise is planned as a rename). huawei-cph and
    /// geelark only: koophone has no rename API.
    #[serde(default, skip_serializing_if = "NamePolicy::is_show")]
    pub names: NamePolicy,
    /// geelark: proxies the phones of this entry may use, by a name you pick (phones say
    /// `proxy: NAME`). Usernames and passwords come only from variables, under the credential rules.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxies: BTreeMap<String, ProxySpec>,
}

/// A proxy, declared once per provider entry; its secrets by variable name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProxySpec {
    /// `socks5`, `http` or `https`.
    pub scheme: ProxyScheme,
    /// Host name or address, without a scheme.
    #[schemars(length(min = 1, max = 253))]
    pub server: String,
    /// Port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u32,
    /// Variable holding the username (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub username_env: Option<String>,
    /// Variable holding the password (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub password_env: Option<String>,
}

/// A proxy's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProxyScheme {
    /// SOCKS5 (GeeLark typeId 1).
    Socks5,
    /// HTTP (typeId 2).
    Http,
    /// HTTPS (typeId 3).
    Https,
}

impl ProxyScheme {
    /// As GeeLark's list names it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
        }
    }
}

/// What the spec's phone names are to a provider entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NamePolicy {
    /// A label: shown and selectable, never sent to the provider.
    #[default]
    Show,
    /// The phone's name at the provider: planned, renamed, confirmed.
    Manage,
}

impl NamePolicy {
    /// The default.
    pub fn is_show(&self) -> bool {
        *self == NamePolicy::Show
    }
}

/// How GeeLark `traceId` headers are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceIdFormat {
    /// A UUID v4 in its dashed lowercase form, as the header table's example (`db6094ab-3797-...`).
    #[default]
    Uuid,
    /// 32 uppercase hex digits, as GeeLark's JavaScript sample makes them.
    Hex32,
}

/// Environment variable names for a provider's credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Variable holding a token: IAM token (huawei-cph, koophone) or bearer token (geelark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// huawei-cph, koophone: variable holding the access key id (AK/SK signing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub ak_env: Option<String>,
    /// huawei-cph, koophone: variable holding the secret access key (AK/SK signing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub sk_env: Option<String>,
    /// huawei-cph, koophone: variable holding the security token of a temporary AK/SK (sent as
    /// `X-Security-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub security_token_env: Option<String>,
    /// geelark key mode: variable holding the team AppId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub app_id_env: Option<String>,
    /// geelark key mode: variable holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub api_key_env: Option<String>,
}

/// Per-provider overrides of the defaults in the capability table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Phone ids per batch call (capped by each call's documented maximum).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub batch_size: Option<u32>,
    /// Requests a minute per API route (GeeLark default 180: its documented 200 less 10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub requests_per_minute: Option<u32>,
    /// Requests an hour per API route (GeeLark default 21,600: its documented 24,000 less 10%).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub requests_per_hour: Option<u32>,
    /// How far under the provider's documented rate limits to keep, in percent (default 10; 0 runs at
    /// the documented numbers). `requests_per_minute` and `requests_per_hour` set a limit outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 90))]
    pub rate_margin_percent: Option<u32>,
    /// Calls in flight at once against this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 256))]
    pub concurrency: Option<u32>,
}

/// Desired power state.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    /// Powered on.
    Running,
    /// Shut down.
    Stopped,
}

impl PowerState {
    /// The spelling used in specs and plans.
    pub fn as_str(self) -> &'static str {
        match self {
            PowerState::Running => "running",
            PowerState::Stopped => "stopped",
        }
    }
}

/// Huawei CPH traffic route.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Traffic {
    /// Default route.
    Direct,
    /// Routed to the encoding container.
    Routing,
}

impl Traffic {
    /// The spelling used by the spec and by the CPH API (`traffic_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Traffic::Direct => "direct",
            Traffic::Routing => "routing",
        }
    }

    /// Parse the CPH API spelling.
    pub fn parse(s: &str) -> Option<Traffic> {
        match s {
            "direct" => Some(Traffic::Direct),
            "routing" => Some(Traffic::Routing),
            _ => None,
        }
    }
}

/// Property map as read from a phone (`sys.prop`-style keys, values as text).
pub type Properties = BTreeMap<String, String>;

/// Property map as a spec declares it: each value a string or a whole number, sent as written.
pub type DesiredProperties = BTreeMap<String, PropertyValue>;

/// A declared property value: a YAML string or integer. CPH types some attributes as Integer
/// (`com.cph.mainkeys`, `disable.status.bar`, ...): an integer goes as a JSON number inside the
/// `property` string, a string as a JSON string. Compared with what a phone reports by its text, so an
/// observed `1` matches both `"1"` and `1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A whole number, sent as a JSON number.
    Integer(i64),
    /// Text, sent as a JSON string.
    Text(String),
}

impl PropertyValue {
    /// The value as text, as phones report it.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            PropertyValue::Integer(i) => std::borrow::Cow::Owned(i.to_string()),
            PropertyValue::Text(s) => std::borrow::Cow::Borrowed(s),
        }
    }

    /// Whether a phone's reported value is this one.
    pub fn matches(&self, observed: Option<&String>) -> bool {
        observed.is_some_and(|o| *o == self.text())
    }
}

impl From<&str> for PropertyValue {
    fn from(s: &str) -> PropertyValue {
        PropertyValue::Text(s.to_owned())
    }
}

impl JsonSchema for PropertyValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PropertyValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A string, or a whole number for attributes CPH types as Integer (sent as a JSON number).",
            "type": ["string", "integer"]
        })
    }
}

/// The settings a phone entry and a group entry share: what phonefleet manages about a phone. Every
/// setting is optional; one left out is not managed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PhoneSettings {
    /// Desired power state; left out = not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<PowerState>,
    /// The name of a schedule of `schedules`: the power state it wants at the moment (instead of
    /// `state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Desired traffic route (huawei-cph only); left out = not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Desired properties (huawei-cph only); only the keys listed are managed. Values are strings or
    /// whole numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<DesiredProperties>,
    /// phonefleet never stops these phones: a plan that would is refused (only editing the spec allows
    /// it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// huawei-cph: `when-needed` restarts the phones after a property change that needs a restart to
    /// take effect (`com.cph.mainkeys`, `disable.status.bar`); `never` (the default) only notes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// geelark: the phone's group, by name (at most 50 characters; created when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// geelark: the phone's whole set of tags, by name (each at most 30 characters; missing tags are
    /// created; `[]` clears them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeSet<String>>,
    /// geelark: the phone's remark (at most 1,500 characters; `""` clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// geelark: the name of a proxy its provider entry declares under `proxies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// huawei-cph: the image the phone runs (`image_id`); a phone on another image is reset onto this
    /// one (batch-reset: its data is cleared), within `safety.max_resets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"))]
    pub image: Option<String>,
    /// Labels for selectors (`--target team=growth`), shown in JSON: keys of letters, digits and
    /// `._/-` (up to 63), values of the same characters (up to 63, may be empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend(
        "propertyNames" = {"pattern": "^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$"},
        "additionalProperties" = {"type": "string", "pattern": "^[A-Za-z0-9._/-]{0,63}$"}
    ))]
    pub labels: BTreeMap<String, String>,
}

// Unknown fields of a phone or a group are refused by the JSON Schema, which runs first: serde cannot
// deny them through a flattened field.
/// One phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PhoneSpec {
    /// The provider's phone id.
    pub id: String,
    /// Name of an entry of `providers`.
    pub provider: String,
    /// Optional label, shown in plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What is managed about it.
    #[serde(flatten)]
    pub settings: PhoneSettings,
}

/// Many phones of one provider with the same settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GroupSpec {
    /// Name of an entry of `providers`.
    pub provider: String,
    /// The provider's phone ids.
    #[schemars(length(min = 1))]
    pub ids: Vec<String>,
    /// What is managed about them.
    #[serde(flatten)]
    pub settings: PhoneSettings,
}

/// What the spec wants for one phone, after groups are expanded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredPhone {
    /// Provider name (a key of `providers`).
    pub provider: String,
    /// Phone id at the provider.
    pub id: String,
    /// Optional label.
    pub name: Option<String>,
    /// Desired power state, if managed.
    pub state: Option<PowerState>,
    /// Desired route, if managed.
    pub traffic: Option<Traffic>,
    /// Managed property keys and their values.
    pub properties: DesiredProperties,
    /// Never to be stopped by phonefleet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Restart after property changes that need one.
    #[serde(default, skip_serializing_if = "RestartPolicy::is_never")]
    pub restart: RestartPolicy,
    /// Labels from the phone's entry or its group.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `name` is the phone's name at the provider (its entry says `names: manage`), not a label.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manage_name: bool,
    /// geelark: its group, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// geelark: its whole set of tags, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<std::collections::BTreeSet<String>>,
    /// geelark: its remark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// geelark: the name of its proxy (one its entry declares).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// huawei-cph: its image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its pool, when a pool declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Box<PoolRole>>,
    /// The schedule it follows (its `state` is what the schedule wants at the plan's moment), boxed:
    /// most phones follow none, and a declared phone is kept small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Box<Scheduled>>,
}

/// How a phone is shown to a person: `name (id)`, or its id alone. Control characters of a name are
/// shown escaped (validation refuses them; a plan file is not trusted to have been validated).
pub fn label(name: Option<&str>, id: &str) -> String {
    if id.starts_with(NEW_ID_PREFIX) || id.starts_with(POOL_ID_PREFIX) {
        let name = name.unwrap_or(id);
        let what = if id.starts_with(NEW_ID_PREFIX) {
            "new"
        } else {
            "pool"
        };
        return format!("{} ({what})", crate::redact::controls(name));
    }
    match name {
        Some(n) => format!("{} ({id})", crate::redact::controls(n)),
        None => id.to_owned(),
    }
}

impl DesiredPhone {
    /// The phone `id` of `provider` with these settings.
    pub fn new(provider: &str, id: &str, name: Option<&str>, s: &PhoneSettings) -> DesiredPhone {
        DesiredPhone {
            provider: provider.to_owned(),
            id: id.to_owned(),
            name: name.map(str::to_owned),
            state: s.state,
            traffic: s.traffic,
            properties: s.properties.clone().unwrap_or_default(),
            protect: s.protect,
            restart: s.restart.unwrap_or_default(),
            labels: s.labels.clone(),
            manage_name: false,
            group: s.group.clone(),
            tags: s.tags.clone(),
            remark: s.remark.clone(),
            proxy: s.proxy.clone(),
            image: s.image.clone(),
            pool: None,
            schedule: s.schedule.as_ref().map(|name| {
                Box::new(Scheduled {
                    name: name.clone(),
                    why: None,
                })
            }),
        }
    }

    /// The name of the schedule it follows.
    pub fn schedule_name(&self) -> Option<&str> {
        self.schedule.as_ref().map(|s| s.name.as_str())
    }

    /// Why its state is what it is, when its schedule was resolved.
    pub fn scheduled(&self) -> Option<&str> {
        self.schedule.as_ref().and_then(|s| s.why.as_deref())
    }

    /// What becomes of it, when a pool declares it.
    pub fn fate(&self) -> Option<Fate> {
        self.pool.as_ref().map(|p| p.fate)
    }

    /// The name the provider is to show, when the spec manages it.
    pub fn managed_name(&self) -> Option<&str> {
        self.name.as_deref().filter(|_| self.manage_name)
    }
}

/// When phonefleet restarts a running phone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Never: a property that needs a restart gets a note in the plan.
    #[default]
    Never,
    /// After a property change that is known to need a restart (`com.cph.mainkeys`,
    /// `disable.status.bar`), with CPH's batch-restart.
    WhenNeeded,
}

impl RestartPolicy {
    /// The default.
    pub fn is_never(&self) -> bool {
        *self == RestartPolicy::Never
    }
}

impl FleetSpec {
    /// The guard rails, or none.
    pub fn safety(&self) -> Safety {
        self.safety.clone().unwrap_or_default()
    }

    /// The `watch` section, or its defaults (observe and report only).
    pub fn watch(&self) -> WatchSpec {
        self.watch.clone().unwrap_or_default()
    }

    /// How many phones the spec declares at each provider (counted, not expanded).
    /// Phones the spec declares per `key=value` of the labels `keys` name.
    pub fn declared_per_label(&self, keys: &[&String]) -> BTreeMap<String, usize> {
        let mut declared: BTreeMap<String, usize> = BTreeMap::new();
        let mut count = |labels: &BTreeMap<String, String>, n: usize| {
            for k in keys {
                if let Some(v) = labels.get(*k) {
                    *declared.entry(format!("{k}={v}")).or_default() += n;
                }
            }
        };
        for p in &self.phones {
            count(&p.settings.labels, 1);
        }
        for g in &self.groups {
            count(&g.settings.labels, g.ids.len());
        }
        for p in &self.pools {
            count(&p.labels(), p.count as usize);
        }
        declared
    }

    /// Phones the spec declares per provider.
    pub fn declared_per_provider(&self) -> BTreeMap<String, usize> {
        let mut declared: BTreeMap<String, usize> = BTreeMap::new();
        for p in &self.phones {
            *declared.entry(p.provider.clone()).or_default() += 1;
        }
        for g in &self.groups {
            *declared.entry(g.provider.clone()).or_default() += g.ids.len();
        }
        for p in &self.pools {
            *declared.entry(p.provider.clone()).or_default() += p.count as usize;
        }
        declared
    }

    /// How many phones the spec declares (a pool counts its `count`).
    pub fn declared_count(&self) -> usize {
        self.phones.len()
            + self.groups.iter().map(|g| g.ids.len()).sum::<usize>()
            + self.pools.iter().map(|p| p.count as usize).sum::<usize>()
    }

    /// Every declared phone, `phones` first then `groups`, in file order, then one entry per pool
    /// (id `pool:NAME`, [`Fate::Unlisted`]) that a read replaces by its members ([`crate::pool`]).
    pub fn desired_phones(&self) -> Vec<DesiredPhone> {
        let managed = |provider: &str| {
            self.providers
                .get(provider)
                .is_some_and(|p| p.names == NamePolicy::Manage)
        };
        let singles = self.phones.iter().map(|p| DesiredPhone {
            manage_name: p.name.is_some() && managed(&p.provider),
            ..DesiredPhone::new(&p.provider, &p.id, p.name.as_deref(), &p.settings)
        });
        let grouped = self.groups.iter().flat_map(|g| {
            g.ids
                .iter()
                .map(move |id| DesiredPhone::new(&g.provider, id, None, &g.settings))
        });
        // Sized up front: a flat_map cannot tell `collect` how many phones are coming.
        let mut all = Vec::with_capacity(
            self.phones.len()
                + self.groups.iter().map(|g| g.ids.len()).sum::<usize>()
                + self.pools.len(),
        );
        all.extend(singles.chain(grouped));
        all.extend(self.pools.iter().map(|p| p.unlisted(managed(&p.provider))));
        all
    }
}

/// The JSON Schema of the spec, as committed in `schemas/fleet.schema.json`.
///
/// Optional fields are generated as "absent or of this type", never "or null": a `null` in a spec is a
/// mistake to report, and dropping the `anyOf [.., null]` wrappers lets enum errors say which values
/// are allowed instead of "not valid under any of the schemas".
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(FleetSpec);
    let mut value = serde_json::to_value(schema).expect("a generated schema is always valid JSON");
    drop_null_alternatives(&mut value);
    value
}

fn drop_null_alternatives(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            // schemars writes a documented unit enum as `oneOf` of `const`s; an `enum` gives errors that
            // list the allowed values.
            let consts: Option<Vec<Value>> = match map.get("oneOf") {
                Some(Value::Array(alts)) => alts.iter().map(|a| a.get("const").cloned()).collect(),
                _ => None,
            };
            if let Some(values) = consts {
                map.remove("oneOf");
                map.insert("enum".into(), Value::Array(values));
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            let single = match map.get("anyOf") {
                Some(Value::Array(alts)) if alts.len() == 2 => {
                    let non_null: Vec<&Value> = alts
                        .iter()
                        .filter(|a| a.get("type") != Some(&Value::from("null")))
                        .collect();
                    (non_null.len() == 1).then(|| non_null[0].clone())
                }
                _ => None,
            };
            if let Some(inner) = single {
                map.remove("anyOf");
                if let Value::Object(inner) = inner {
                    for (k, val) in inner {
                        map.entry(k).or_insert(val);
                    }
                }
            }
            for val in map.values_mut() {
                drop_null_alternatives(val);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null_alternatives),
        _ => {}
    }
}

/// The schema as the pretty-printed text that is committed (trailing newline included).
pub fn json_schema_text() -> String {
    let mut text =
        serde_json::to_string_pretty(&json_schema()).expect("serializing a Value cannot fail");
    text.push('\n');
    text
}
