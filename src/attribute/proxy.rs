//! `proxy`: the GeeLark proxy a phone uses, named from its provider entry's `proxies` (or `none`).
//! Compared by name: the client matches the listed proxy (scheme, server, port, username, password)
//! against the declared ones when it reads, and keeps only the name, so no plan, view or file holds a
//! proxy's secrets. Set with `phone/detail/update` `proxyConfig`, one phone a call, the secrets read
//! from their variables when the call is made.

use super::Sensitivity;
use super::text::Text;
use crate::plan::Action;
use crate::spec::DesiredPhone;

/// `none` in the spec: no proxy.
const NONE: &str = "none";

/// The proxy attribute.
pub(super) static PROXY: Text = Text {
    key: "proxy",
    action: Action::SetProxy,
    declared: |d| d.proxy.as_ref(),
    // No proxy reads as `none`, as the spec writes it.
    seen: |x| {
        if x.proxy.is_empty() {
            NONE.to_owned()
        } else {
            x.proxy.clone()
        }
    },
    view: |v| &mut v.proxy,
    shared_call: false,
    goal_names_value: true,
    blocked,
    sensitivity: Sensitivity::Secret,
};

/// A proxy declared `none` on a phone that has one: no documented call takes it away.
fn blocked(d: &DesiredPhone) -> Option<String> {
    (d.proxy.as_deref() == Some(NONE)).then(|| {
        "GeeLark documents no call that takes a phone's proxy away: remove it in GeeLark's \
         console, or declare the proxy it should use"
            .to_owned()
    })
}
