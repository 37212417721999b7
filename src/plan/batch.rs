//! Batches: the calls an apply will make, one per (provider, action) chunk of phones.

use serde::{Deserialize, Serialize};

use super::Action;
use crate::spec::DesiredProperties;

/// One phone inside a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPhone {
    /// Phone id.
    pub id: String,
    /// For `set_properties`: the keys to write and their values (only those that differ).
    #[serde(default, skip_serializing_if = "DesiredProperties::is_empty")]
    pub properties: DesiredProperties,
    /// For `rename`: the name to give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Marks kept with the phone (CPH `custom_property`): the keys waiting for a restart, or an empty
    /// value that clears the mark.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub marks: std::collections::BTreeMap<String, String>,
    /// For the GeeLark details (`set_group`, `set_tags`, `set_remark`): the value to give, by the
    /// attribute's key.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub set: std::collections::BTreeMap<String, serde_json::Value>,
}

/// One API call of an apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Provider name.
    pub provider: String,
    /// What the call does.
    #[serde(flatten)]
    pub action: Action,
    /// The phones it covers.
    pub phones: Vec<BatchPhone>,
    /// Part of the canary (`--canary`): sent first, alone, and confirmed before the rest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub canary: bool,
}

impl Batch {
    /// The phone ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.phones.iter().map(|p| p.id.as_str())
    }
}
