//! Renaming a CPH phone: `PUT /v1/{project_id}/cloud-phone/phones/{phone_id}` with `{"phone_name"}`,
//! one phone a call, answered `{"request_id"}` without a job (providers.md 10.1.1). Confirmed by
//! reading the name back.

use super::*;

impl HuaweiCph {
    /// Rename each phone of the batch to its declared name.
    pub(super) async fn rename(
        &self,
        batch: &Batch,
    ) -> Result<crate::provider::BatchResults, ProviderError> {
        let mut out = Vec::with_capacity(batch.phones.len());
        for p in &batch.phones {
            let Some(name) = p.name.as_deref() else {
                out.push((p.id.clone(), Err(crate::provider::no_name())));
                continue;
            };
            let call = Call {
                dialect: &DIALECT,
                method: Method::PUT,
                url: self.ctx.url(&self.path(&format!("phones/{}", p.id))),
                route: "PUT /v1/{project_id}/cloud-phone/phones/{phone_id}",
                ids: 1,
                mutating: true,
            };
            let body = serde_json::to_vec(&json!({ "phone_name": name })).expect("JSON serializes");
            match self.call(call, Some(body)).await {
                Ok(_) => out.push((p.id.clone(), Ok(Accepted::Done))),
                // Credentials, endpoint, or an answer lost on the way: the executor's to handle for
                // the whole batch (a lost answer is read back before anything else).
                Err(e) if e.is_fatal() || e.is_outcome_unknown() => return Err(e),
                Err(e) => out.push((p.id.clone(), Err(e.as_phone_error()))),
            }
        }
        Ok(out)
    }
}
