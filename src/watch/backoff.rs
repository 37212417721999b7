//! Which phones a tick may heal: a phone whose heal failed waits 1, 2, 4 ... up to 64 ticks before the
//! next try; a failure that needs a person (someone is connected, the phone is frozen) is not tried
//! again until the phone or the spec changes. Pure: counted in ticks, not read from a clock.

use std::collections::HashMap;

use crate::apply::{ApplyReport, Outcome};
use crate::plan::PhoneChange;
use crate::provider::advice::{self, Advice};

/// The most ticks a failed phone waits.
const MAX_WAIT: u64 = 64;

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    retry_at: u64,
    /// A person must act: (what the phone looked like, the spec's digest) when it failed.
    person: Option<(String, String)>,
}

/// Per phone: failures and when to try again.
#[derive(Debug, Default)]
pub struct Backoff {
    phones: HashMap<(String, String), Entry>,
}

impl Backoff {
    /// Whether tick number `tick` may heal `c` under the spec with `spec_digest`.
    pub fn may_heal(&self, c: &PhoneChange, tick: u64, spec_digest: &str) -> bool {
        match self.phones.get(&(c.provider.clone(), c.phone_id.clone())) {
            None => true,
            Some(Entry {
                person: Some((fingerprint, spec)),
                ..
            }) => fingerprint != &c.fingerprint || spec != spec_digest,
            Some(e) => tick >= e.retry_at,
        }
    }

    /// Phones waiting now.
    pub fn waiting(&self) -> usize {
        self.phones.len()
    }

    /// Record what a heal at tick `tick` did: a phone whose every action succeeded is forgotten; a
    /// failed one waits twice as long as last time, or for a person.
    pub fn record(
        &mut self,
        report: &ApplyReport,
        heal: &[PhoneChange],
        tick: u64,
        spec_digest: &str,
    ) {
        // Phones with a failure, and whether one of their failures needs a person.
        let mut failed: HashMap<(String, String), bool> = HashMap::new();
        let mut done: Vec<(String, String)> = Vec::new();
        for r in report.results.iter().filter(|r| r.action.is_some()) {
            let key = (r.provider.clone(), r.phone_id.clone());
            match &r.outcome {
                Outcome::Failed(e) => {
                    let person = matches!(
                        advice::for_failure(r.kind, &e.code, r.action.as_ref().map(|a| a.name())),
                        Advice::Person(_)
                    );
                    *failed.entry(key).or_default() |= person;
                }
                Outcome::Ok => done.push(key),
                Outcome::Blocked(_) | Outcome::Skipped(_) => {}
            }
        }
        for key in done {
            if !failed.contains_key(&key) {
                self.phones.remove(&key);
            }
        }
        for (key, person) in failed {
            let fingerprint = heal
                .iter()
                .find(|c| c.provider == key.0 && c.phone_id == key.1)
                .map(|c| c.fingerprint.clone())
                .unwrap_or_default();
            let e = self.phones.entry(key).or_insert(Entry {
                failures: 0,
                retry_at: 0,
                person: None,
            });
            e.failures += 1;
            let wait = (1u64 << (e.failures - 1).min(6)).min(MAX_WAIT);
            e.retry_at = tick + wait;
            e.person = person.then(|| (fingerprint, spec_digest.to_owned()));
        }
    }
}
