//! Pools in the spec: a number of alike phones of one provider (`pools:`), how new members are made
//! (their template), and a declared phone's place in a pool once its members are listed
//! ([`crate::pool`] decides which phones those are).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{DesiredPhone, PhoneSettings};

/// A pool: `count` alike phones of one provider, named `NAME-001` to `NAME-<count>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PoolSpec {
    /// The pool's name: its members are the account's phones named `NAME-` and a number.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9_.]{0,39}$"))]
    pub name: String,
    /// Name of an entry of `providers` (geelark).
    pub provider: String,
    /// How many members the pool has: missing ones are created (lowest free numbers first), extra
    /// ones deleted (highest numbers first; never while `protect` is set).
    #[schemars(range(max = 10000))]
    pub count: u32,
    /// How new members are made (GeeLark `phone/addNew`).
    pub template: PoolTemplate,
    /// What is managed about every member (a new member is made with its group, tags, remark and
    /// proxy; `proxy` is required, as GeeLark's create requires one).
    #[serde(flatten)]
    pub settings: PhoneSettings,
}

/// How a pool's new phones are made (GeeLark `phone/addNew`'s top level).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolTemplate {
    /// `Android 9` to `Android 15` (`mobileType`).
    #[schemars(regex(pattern = r"^Android (9|10|11|12|13|14|15)$"))]
    pub mobile_type: String,
    /// `cn` or `sgp` (`region`); GeeLark's default when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<PoolRegion>,
    /// 0 on demand (the default), 1 monthly (`chargeMode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub charge_mode: Option<u8>,
}

/// Where GeeLark makes a pool's phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PoolRegion {
    /// China.
    Cn,
    /// Singapore.
    Sgp,
}

impl PoolRegion {
    /// As GeeLark spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolRegion::Cn => "cn",
            PoolRegion::Sgp => "sgp",
        }
    }
}

/// A declared phone's place in a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolRole {
    /// The pool's name.
    pub pool: String,
    /// What becomes of the phone.
    pub fate: Fate,
    /// The pool's `count`.
    pub count: u32,
    /// How its new members are made.
    pub template: PoolTemplate,
}

/// What becomes of a pool's phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fate {
    /// The pool itself, before its members are listed (its id is `pool:NAME`).
    Unlisted,
    /// A member that stays.
    Member,
    /// A member to create (its id is `new:NAME-046` until the provider gives it one).
    Create,
    /// A member to delete (the pool's `count` dropped).
    Delete,
}

/// The id a pool has before its members are listed.
pub const POOL_ID_PREFIX: &str = "pool:";
/// The id a member to create has until the provider gives it one.
pub const NEW_ID_PREFIX: &str = "new:";

impl PoolSpec {
    /// Its members' labels: the declared ones and `pool: NAME`.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.settings.labels.clone();
        labels.insert("pool".into(), self.name.clone());
        labels
    }

    /// The pool before its members are listed: one entry that selectors see (`--target pool=NAME`,
    /// its name, its provider) and that a read replaces by the members.
    pub fn unlisted(&self, manage_names: bool) -> DesiredPhone {
        DesiredPhone {
            labels: self.labels(),
            manage_name: manage_names,
            pool: Some(Box::new(PoolRole {
                pool: self.name.clone(),
                fate: Fate::Unlisted,
                count: self.count,
                template: self.template.clone(),
            })),
            ..DesiredPhone::new(
                &self.provider,
                &format!("{POOL_ID_PREFIX}{}", self.name),
                Some(&self.name),
                &self.settings,
            )
        }
    }
}
