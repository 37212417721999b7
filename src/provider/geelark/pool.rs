//! GeeLark pools: members listed by name (`phone/list` with `serialName`, 100 a page), created with
//! `phone/addNew` (up to 100 rows a call, one pool's template each) and deleted with `phone/delete`
//! (up to 100 ids, stopped phones only) (providers.md 10.2.2, 10.2.7).

use super::*;
use crate::provider::{BatchResults, Listed};

/// `addNew`'s answer.
#[derive(Debug, Default, Deserialize)]
struct Created {
    #[serde(default)]
    details: Vec<CreatedRow>,
}

#[derive(Debug, Deserialize)]
struct CreatedRow {
    #[serde(default, deserialize_with = "lenient_opt_int")]
    index: Option<i64>,
    #[serde(default, deserialize_with = "lenient_opt_int")]
    code: Option<i64>,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default, rename = "profileName")]
    profile_name: Option<String>,
}

/// `scheme://user:password@server:port`, the form `proxyInformation` takes; the user and password
/// percent-encoded (RFC 3986 userinfo), so that an `@` or `:` in them cannot move the host.
fn proxy_information(p: &crate::provider::credentials::Proxy) -> String {
    let enc = |s: &Option<crate::provider::Secret>| {
        crate::provider::signer::escape(s.as_ref().map_or("", |s| s.expose()))
    };
    let auth = match (enc(&p.username), enc(&p.password)) {
        (u, pw) if u.is_empty() && pw.is_empty() => String::new(),
        (u, pw) => format!("{u}:{pw}@"),
    };
    format!("{}://{auth}{}:{}", p.scheme.as_str(), p.server, p.port)
}

impl Geelark {
    /// The team's phones whose name begins with `prefix`: `phone/list` filtered by `serialName`, every
    /// page, then kept only where the name truly begins so (GeeLark's filter may match anywhere).
    pub(in crate::provider) async fn list_named(
        &self,
        prefix: &str,
    ) -> Result<Vec<Listed>, ProviderError> {
        let page = |i: usize| {
            let body = json!({ "page": i, "pageSize": LIST_PAGE, "serialName": prefix });
            async move {
                let call = self.call_list();
                let r: Result<ListData, ProviderError> = self.post(&call, body, &[0]).await;
                r
            }
        };
        let first = page(1).await?;
        let total = first.total;
        let pages = crate::provider::all_pages(
            first,
            total,
            LIST_PAGE,
            self.ctx.limits.concurrency,
            |p| p.items.len(),
            |i| page(i + 1),
        )
        .await?;
        let listed = pages
            .into_iter()
            .flat_map(|p| p.items)
            .map(|item| self.listed(item))
            .filter(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)));
        let listed: Vec<Listed> = listed.collect();
        self.ctx.count_read(listed.len());
        Ok(crate::provider::first_sightings(listed, total))
    }

    /// Create one pool's members: `phone/addNew` with the pool's template and a row per phone (its
    /// name, group, tags, remark and proxy). Each row's answer is its phone's: an id, or its code.
    pub(super) async fn create(&self, batch: &Batch) -> Result<BatchResults, ProviderError> {
        let Some(first) = batch.phones.first() else {
            return Ok(Vec::new());
        };
        let template = first.set.get("template").cloned().unwrap_or_default();
        let mut rows = Vec::with_capacity(batch.phones.len());
        let mut out: BatchResults = Vec::with_capacity(batch.phones.len());
        let mut sent: Vec<&str> = Vec::with_capacity(batch.phones.len());
        for p in &batch.phones {
            let proxy = p
                .set
                .get("proxy")
                .and_then(serde_json::Value::as_str)
                .and_then(|n| self.ctx.proxies.iter().find(|(k, _)| k == n));
            let (Some(name), Some((_, proxy))) = (p.name.as_deref(), proxy) else {
                out.push((p.id.clone(), Err(crate::provider::no_value("proxy"))));
                continue;
            };
            let mut row = serde_json::Map::new();
            row.insert("profileName".into(), json!(name));
            row.insert("proxyInformation".into(), json!(proxy_information(proxy)));
            for (field, key) in [
                ("group", "profileGroup"),
                ("tags", "profileTags"),
                ("remark", "profileNote"),
            ] {
                if let Some(v) = p.set.get(field) {
                    row.insert(key.into(), v.clone());
                }
            }
            rows.push(serde_json::Value::Object(row));
            sent.push(p.id.as_str());
        }
        if rows.is_empty() {
            return Ok(out);
        }
        let mut body = json!({
            "mobileType": template.get("mobile_type").cloned().unwrap_or_default(),
            "data": rows,
        });
        if let Some(region) = template.get("region") {
            body["region"] = region.clone();
        }
        if let Some(mode) = template.get("charge_mode") {
            body["chargeMode"] = mode.clone();
        }
        let call = Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url("/open/v1/phone/addNew"),
            route: "POST /open/v1/phone/addNew",
            ids: sent.len(),
            mutating: true,
        };
        let data: Created = match self.post(&call, body, &[0, 40006, 40009]).await {
            Ok(d) => d,
            // A lost answer is never re-sent (it would create the phones twice): the run says the
            // outcome is unknown, and the next plan lists the pool and creates only what is missing.
            Err(e) if e.is_fatal() || e.is_outcome_unknown() => return Err(e),
            Err(e) => {
                let pe = e.as_phone_error();
                out.extend(sent.iter().map(|id| ((*id).to_owned(), Err(pe.clone()))));
                return Ok(out);
            }
        };
        let mut answered: Vec<Option<Result<Accepted, PhoneError>>> = vec![None; sent.len()];
        for row in data.details {
            // Rows are matched by `index` (0-based, as sent), or by name when it is missing.
            let at = row
                .index
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| *i < sent.len())
                .or_else(|| {
                    let n = row.profile_name.as_deref()?;
                    batch
                        .phones
                        .iter()
                        .filter(|p| sent.contains(&p.id.as_str()))
                        .position(|p| p.name.as_deref() == Some(n))
                });
            let Some(at) = at else { continue };
            let result = match (row.code.unwrap_or(0), &row.id) {
                (0, Some(id)) if !id_text(id).is_empty() && !id.is_null() => {
                    Ok(Accepted::Created(crate::redact::text(&id_text(id))))
                }
                (0, _) => Err(PhoneError {
                    code: "no-id".into(),
                    message: "GeeLark answered success without the new phone's id; the next plan \
                              lists the pool and finds it by name"
                        .into(),
                }),
                (code, _) => Err(PhoneError::from_provider(&code.to_string(), &row.msg)),
            };
            answered[at] = Some(result);
        }
        for (id, r) in sent.into_iter().zip(answered) {
            let r = r.unwrap_or_else(|| {
                Err(PhoneError {
                    code: "outcome-unknown".into(),
                    message: "GeeLark's answer left this phone out; the next plan lists the pool \
                              and creates it only if it is missing"
                        .into(),
                })
            });
            out.push((id.to_owned(), r));
        }
        Ok(out)
    }

    /// Delete phones (stopped ones: GeeLark refuses a started phone with 43009).
    pub(super) async fn delete(&self, batch: &Batch) -> Result<BatchResults, ProviderError> {
        self.per_phone("POST /open/v1/phone/delete", "/open/v1/phone/delete", batch)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_information_encodes_the_userinfo() {
        let p = crate::provider::credentials::Proxy {
            scheme: crate::spec::ProxyScheme::Socks5,
            server: "203.0.113.7".into(),
            port: 1080,
            username: Some(crate::provider::Secret::new("u@x")),
            password: Some(crate::provider::Secret::new("p:w/d")),
        };
        assert_eq!(
            proxy_information(&p),
            "socks5://u%40x:p%3Aw%2Fd@203.0.113.7:1080"
        );
    }
}
