//! GeeLark's reset and restart, one phone a call: `POST /open/v2/phone/newOne` with `{"id"}`
//! (providers.md 10.2.8: a new device identity, the phone's data and apps cleared) and `POST
//! /open/v1/phone/restart` with `{"id"}` (the route GeeLark's own CLI uses; providers.md 0.6). Each
//! answers `{"code":0}` and no task: the phone is confirmed by reading it running again.

use super::*;
use crate::provider::BatchResults;

impl Geelark {
    /// Reset (`newOne`) or restart each phone of the batch, one call each.
    pub(super) async fn one_by_one(&self, batch: &Batch) -> Result<BatchResults, ProviderError> {
        let (path, route) = if batch.action == Action::Reset {
            ("/open/v2/phone/newOne", "POST /open/v2/phone/newOne")
        } else {
            ("/open/v1/phone/restart", "POST /open/v1/phone/restart")
        };
        let mut out = Vec::with_capacity(batch.phones.len());
        for p in &batch.phones {
            let call = Call {
                dialect: &DIALECT,
                method: Method::POST,
                url: self.ctx.url(path),
                route,
                ids: 1,
                mutating: true,
            };
            match self
                .post::<serde_json::Value>(&call, json!({ "id": p.id }), &[0])
                .await
            {
                Ok(_) => out.push((p.id.clone(), Ok(Accepted::Done))),
                Err(e) if e.is_fatal() || e.is_outcome_unknown() => return Err(e),
                Err(e) => out.push((p.id.clone(), Err(e.as_phone_error()))),
            }
        }
        Ok(out)
    }
}
