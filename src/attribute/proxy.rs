//! `proxy`: the GeeLark proxy a phone uses, named from its provider entry's `proxies` (or `none`).
//! Compared by name: the client matches the listed proxy (scheme, server, port, username, password)
//! against the declared ones when it reads, and keeps only the name, so no plan, view or file holds a
//! proxy's secrets. Set with `phone/detail/update` `proxyConfig`, one phone a call, the secrets read
//! from their variables when the call is made.

use serde_json::Value;

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::provider::ObserveTarget;
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::ObservedPhone;

/// The proxy attribute.
pub(super) struct Proxy;

/// `none` in the spec: no proxy.
pub(super) const NONE: &str = "none";

/// The name a phone's proxy is shown by.
fn shown(observed: &str) -> String {
    if observed.is_empty() {
        NONE.to_owned()
    } else {
        observed.to_owned()
    }
}

impl Attribute for Proxy {
    fn key(&self) -> &'static str {
        "proxy"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::SetProxy
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.proxy.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        super::details_supported(kind)
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.proxy.clone_from(&d.proxy);
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        view.proxy = Some(shown(o.details.as_ref().map_or("", |x| x.proxy.as_str())));
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.proxy.as_deref()?;
        let now = shown(o.details.as_ref().map_or("", |x| x.proxy.as_str()));
        (now != want).then_some(Action::SetProxy)
    }

    fn blocked(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<String> {
        (d.proxy.as_deref() == Some(NONE) && self.diff(d, o).is_some()).then(|| {
            "GeeLark documents no call that takes a phone's proxy away: remove it in GeeLark's \
             console, or declare the proxy it should use"
                .to_owned()
        })
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, _: bool) -> bool {
        self.diff(d, o).is_none()
    }

    fn goal(&self, _: &Action, d: &DesiredPhone) -> String {
        format!("proxy {:?}", d.proxy.as_deref().unwrap_or_default())
    }

    fn sensitivity(&self) -> super::Sensitivity {
        super::Sensitivity::Secret
    }

    fn read(&self, target: &mut ObserveTarget) {
        target.listed = true;
    }

    fn payload(
        &self,
        _: ProviderKind,
        _: &Action,
        d: &DesiredPhone,
        _: Option<&ObservedPhone>,
        phone: &mut BatchPhone,
    ) {
        if let Some(p) = &d.proxy {
            phone
                .set
                .insert(self.key().to_owned(), Value::from(p.as_str()));
        }
    }
}
