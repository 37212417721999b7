//! The unmanaged-phone census: what each provider account holds beyond the phones the spec declares.
//! Only informs (a plan is complete without it) and never changes anything.
//!
//! Counting is honest about what was not read: a declared phone that could not be read is neither
//! found nor unmanaged, so with a total count alone (no ids) it is subtracted as "unread" and the
//! count says so, never passing an unread declared phone off as unmanaged.
//!
//! Pure: the counts come in from the providers ([`crate::ops::fleet::Fleet::census`]).

use std::collections::BTreeMap;

use crate::spec::DesiredPhone;
use crate::state::{FleetState, Observation, Unmanaged};

/// What a provider account holds in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Census {
    /// How many phones.
    Total(usize),
    /// Every phone id.
    Ids(Vec<String>),
    /// The count failed: why.
    Unknown(String),
}

/// Phones each provider holds that `desired` does not declare.
pub fn unmanaged(
    census: BTreeMap<String, Census>,
    desired: &[DesiredPhone],
    state: &FleetState,
) -> BTreeMap<String, Unmanaged> {
    census
        .into_iter()
        .map(|(name, c)| {
            let declared: foldhash::HashSet<&str> = desired
                .iter()
                .filter(|d| d.provider == name)
                .map(|d| d.id.as_str())
                .collect();
            let u = match c {
                Census::Unknown(reason) => Unmanaged {
                    count: 0,
                    unknown: Some(reason),
                    ids: None,
                },
                Census::Ids(all) => {
                    let mut extra: Vec<String> = all
                        .into_iter()
                        .filter(|id| !declared.contains(id.as_str()))
                        .collect();
                    extra.sort();
                    Unmanaged {
                        count: extra.len(),
                        unknown: None,
                        ids: Some(extra),
                    }
                }
                Census::Total(total) => {
                    // Found, or unread (which may well exist): either way not unmanaged.
                    let accounted = declared
                        .iter()
                        .filter(|id| {
                            matches!(
                                state.get(&name, id),
                                Some(Observation::Found(_) | Observation::Unreadable(_))
                            )
                        })
                        .count();
                    Unmanaged {
                        count: total.saturating_sub(accounted),
                        unknown: None,
                        ids: None,
                    }
                }
            };
            (name, u)
        })
        .collect()
}
