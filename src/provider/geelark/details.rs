//! GeeLark phone details: group, tags and remark. Read from `phone/list` items (`group{name}`,
//! `tags[{name}]`, `remark`); set with `phone/moveGroup` (up to 100 phones into one group a call) and
//! `phone/detail/update` (tags by id, remark; one phone a call). Groups and tags are named in the spec
//! and addressed by id at GeeLark: names are resolved with `group/list` / `tag/list` and created with
//! `group/add` / `tag/add` when missing, once per run (providers.md 10.2.1-10.2.4).

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::provider::BatchResults;
use crate::provider::credentials::Proxy;
use crate::state::Details;

/// The name of the declared proxy a listed `proxy{type,server,port,username,password}` is, `""` for
/// none, or [`crate::state::OTHER_PROXY`]. GeeLark's list shows usernames and passwords in plain text:
/// the declared ones are secrets of the run, so they arrive masked ([`crate::redact::MASK`]) and a
/// declared credential matches exactly when the listed one is masked; any other listed credential is
/// registered as a secret here, so that it is masked from then on, and kept nowhere. (Validation
/// refuses two proxies of one entry on the same scheme, server and port, which this could not tell
/// apart.)
fn proxy_of(listed: Option<&serde_json::Value>, declared: &[(String, Proxy)]) -> String {
    let Some(p) = listed else {
        return String::new();
    };
    let field = |k: &str| match p.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let (scheme, server, port) = (field("type"), field("server"), field("port"));
    let (username, password) = (field("username"), field("password"));
    for secret in [&username, &password] {
        if !secret.is_empty() && secret != crate::redact::MASK {
            crate::redact::register(secret);
        }
    }
    if server.is_empty() {
        return String::new();
    }
    // A declared credential as the masked answer shows it.
    fn seen(s: &Option<crate::provider::Secret>) -> &str {
        match s {
            Some(s) if !s.expose().is_empty() => crate::redact::MASK,
            _ => "",
        }
    }
    declared
        .iter()
        .find(|(_, d)| {
            d.scheme.as_str().eq_ignore_ascii_case(&scheme)
                && d.server.eq_ignore_ascii_case(&server)
                && d.port.to_string() == port
                && seen(&d.username) == username
                && seen(&d.password) == password
        })
        .map_or_else(
            || crate::state::OTHER_PROXY.to_owned(),
            |(name, _)| name.clone(),
        )
}

/// The details a list item shows, leniently: a missing or odd field reads as empty.
pub(super) fn details_of(item: &serde_json::Value, proxies: &[(String, Proxy)]) -> Details {
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .map(crate::redact::text)
            .unwrap_or_default()
    };
    let tags = item
        .get("tags")
        .and_then(serde_json::Value::as_array)
        .map(|tags| {
            tags.iter()
                .map(|t| text(t.get("name")))
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Details {
        group: text(item.get("group").and_then(|g| g.get("name"))),
        tags,
        remark: text(item.get("remark")),
        proxy: proxy_of(item.get("proxy"), proxies),
    }
}

#[derive(Debug, Default, Deserialize)]
struct Named {
    #[serde(default)]
    list: Vec<NamedItem>,
}

#[derive(Debug, Deserialize)]
struct NamedItem {
    id: serde_json::Value,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Added {
    #[serde(default)]
    success_details: Vec<NamedItem>,
    #[serde(default)]
    fail_details: Vec<serde_json::Value>,
}

/// Groups or tags: their routes and limits.
#[derive(Debug, Clone, Copy)]
enum Registry {
    Group,
    Tag,
}

impl Registry {
    fn word(self) -> &'static str {
        match self {
            Registry::Group => "group",
            Registry::Tag => "tag",
        }
    }
}

impl Geelark {
    fn call(&self, path: &'static str, route: &'static str, ids: usize, mutating: bool) -> Call {
        Call {
            dialect: &DIALECT,
            method: Method::POST,
            url: self.ctx.url(path),
            route,
            ids,
            mutating,
        }
    }

    /// The ids of `names` in a registry, creating the missing ones; remembered for the run.
    async fn ids_of(
        &self,
        registry: Registry,
        names: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let known = |n: &str| {
            self.known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&(registry.word(), n.to_owned()))
                .cloned()
        };
        let mut out = BTreeMap::new();
        let mut missing: Vec<&String> = Vec::new();
        for n in names {
            match known(n) {
                Some(id) => {
                    out.insert(n.clone(), id);
                }
                None => missing.push(n),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let (list, add) = match registry {
            Registry::Group => (
                self.call("/open/v1/group/list", "POST /open/v1/group/list", 0, false),
                self.call("/open/v1/group/add", "POST /open/v1/group/add", 0, true),
            ),
            Registry::Tag => (
                self.call("/open/v1/tag/list", "POST /open/v1/tag/list", 0, false),
                self.call("/open/v1/tag/add", "POST /open/v1/tag/add", 0, true),
            ),
        };
        let remember = |name: &str, id: String, out: &mut BTreeMap<String, String>| {
            self.known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((registry.word(), name.to_owned()), id.clone());
            out.insert(name.to_owned(), id);
        };
        for chunk in missing.chunks(100) {
            let body = json!({ "page": 1, "pageSize": 100, "names": chunk });
            let found: Named = self.post(&list, body, &[0]).await?;
            for item in found.list {
                // Exact names only: the list's filter may match more loosely.
                if chunk.iter().any(|n| **n == item.name) {
                    remember(&item.name, id_text(&item.id), &mut out);
                }
            }
        }
        let create: Vec<&String> = missing
            .into_iter()
            .filter(|n| !out.contains_key(*n))
            .collect();
        for chunk in create.chunks(100) {
            let list: Vec<serde_json::Value> = chunk.iter().map(|n| json!({ "name": n })).collect();
            let added: Added = self
                .post(&add, json!({ "list": list }), &[0, 40006])
                .await?;
            for item in added.success_details {
                remember(&item.name, id_text(&item.id), &mut out);
            }
            if let Some(first) = added.fail_details.first() {
                tracing::info!(
                    "{}: {} add: {}",
                    self.ctx.name,
                    registry.word(),
                    crate::redact::text(&first.to_string())
                );
            }
        }
        Ok(out)
    }

    /// Move one batch's phones (all bound for the same group) with `phone/moveGroup`.
    pub(super) async fn move_group(&self, batch: &Batch) -> Result<BatchResults, ProviderError> {
        let ids: Vec<&str> = batch.ids().collect();
        let Some(name) = batch
            .phones
            .first()
            .and_then(|p| p.set.get("group"))
            .and_then(serde_json::Value::as_str)
        else {
            return Ok(all_failed(&ids, &crate::provider::no_value("group")));
        };
        let names: BTreeSet<String> = [name.to_owned()].into();
        let group = match self.ids_of(Registry::Group, &names).await {
            Ok(ids) => ids.get(name).cloned(),
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => return Ok(all_failed(&ids, &e.as_phone_error())),
        };
        let Some(group) = group else {
            let e = PhoneError {
                code: "43032".into(),
                message: format!("the group {name:?} could not be found or created"),
            };
            return Ok(all_failed(&ids, &e));
        };
        let call = self.call(
            "/open/v1/phone/moveGroup",
            "POST /open/v1/phone/moveGroup",
            ids.len(),
            true,
        );
        let body = json!({ "envIds": ids, "groupId": group });
        match self.post::<serde_json::Value>(&call, body, &[0]).await {
            Ok(_) => Ok(ids
                .iter()
                .map(|id| ((*id).to_owned(), Ok(Accepted::Done)))
                .collect()),
            Err(e) if e.is_fatal() || e.is_outcome_unknown() => Err(e),
            Err(e) => Ok(all_failed(&ids, &e.as_phone_error())),
        }
    }

    /// Set each phone's name, tags (by id), remark or proxy with `phone/detail/update`, one phone a
    /// call.
    pub(super) async fn update_details(
        &self,
        batch: &Batch,
    ) -> Result<BatchResults, ProviderError> {
        let mut out = Vec::with_capacity(batch.phones.len());
        for p in &batch.phones {
            let body = match batch.action {
                Action::Rename => match p.name.as_deref() {
                    Some(name) => json!({ "id": p.id, "name": name }),
                    None => {
                        out.push((p.id.clone(), Err(crate::provider::no_name())));
                        continue;
                    }
                },
                Action::SetTags => {
                    let names: BTreeSet<String> = p
                        .set
                        .get("tags")
                        .and_then(serde_json::Value::as_array)
                        .map(|t| {
                            t.iter()
                                .filter_map(|v| v.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    let ids = match self.ids_of(Registry::Tag, &names).await {
                        Ok(ids) => ids,
                        Err(e) if e.is_fatal() => return Err(e),
                        Err(e) => {
                            out.push((p.id.clone(), Err(e.as_phone_error())));
                            continue;
                        }
                    };
                    if ids.len() != names.len() {
                        let e = PhoneError {
                            code: "43022".into(),
                            message: "a tag could not be found or created".into(),
                        };
                        out.push((p.id.clone(), Err(e)));
                        continue;
                    }
                    json!({ "id": p.id, "tagIDs": ids.values().collect::<Vec<_>>() })
                }
                Action::SetProxy => {
                    let name = p.set.get("proxy").and_then(serde_json::Value::as_str);
                    let found = name.and_then(|n| self.ctx.proxies.iter().find(|(k, _)| k == n));
                    let Some((_, proxy)) = found else {
                        out.push((p.id.clone(), Err(crate::provider::no_value("proxy"))));
                        continue;
                    };
                    // Static proxyConfig: every field required (providers.md 10.2.1).
                    let type_id = match proxy.scheme {
                        crate::spec::ProxyScheme::Socks5 => 1,
                        crate::spec::ProxyScheme::Http => 2,
                        crate::spec::ProxyScheme::Https => 3,
                    };
                    let secret = |s: &Option<crate::provider::Secret>| {
                        s.as_ref().map_or("", |s| s.expose()).to_owned()
                    };
                    json!({ "id": p.id, "proxyConfig": {
                        "typeId": type_id,
                        "server": proxy.server,
                        "port": proxy.port,
                        "username": secret(&proxy.username),
                        "password": secret(&proxy.password),
                    }})
                }
                _ => match p.set.get("remark") {
                    Some(r) => json!({ "id": p.id, "remark": r }),
                    None => {
                        out.push((p.id.clone(), Err(crate::provider::no_value("remark"))));
                        continue;
                    }
                },
            };
            let call = self.call(
                "/open/v1/phone/detail/update",
                "POST /open/v1/phone/detail/update",
                1,
                true,
            );
            match self.post::<BatchData>(&call, body, &[0]).await {
                // Some tags unknown: `failDetails` (43022) though the call succeeded.
                Ok(data) if !data.fail_details.is_empty() => {
                    let f = &data.fail_details[0];
                    out.push((
                        p.id.clone(),
                        Err(PhoneError::from_provider(&f.code.to_string(), &f.msg)),
                    ));
                }
                Ok(_) => out.push((p.id.clone(), Ok(Accepted::Done))),
                Err(e) if e.is_fatal() || e.is_outcome_unknown() => return Err(e),
                Err(e) => out.push((p.id.clone(), Err(e.as_phone_error()))),
            }
        }
        Ok(out)
    }
}

fn all_failed(ids: &[&str], e: &PhoneError) -> BatchResults {
    ids.iter()
        .map(|id| ((*id).to_owned(), Err(e.clone())))
        .collect()
}
