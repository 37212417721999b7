//! `pool`: whether a pool's phone exists. A member to create is made with GeeLark's `phone/addNew`
//! (the pool's template, the member's name, the pool's group, tags, remark and proxy; 100 a call per
//! pool); a member beyond the pool's `count` is stopped, then deleted with `phone/delete` (100 a call).
//! Which phones these are is [`crate::pool`]'s to decide from the listing; this module plans, carries
//! and confirms them.

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::spec::{DesiredPhone, Fate, PowerState, ProviderKind};
use crate::state::ObservedPhone;

/// The pool attribute.
pub(super) struct Pool;

/// What a deleted phone shows in a plan's `after`.
pub const DELETED: &str = "(deleted)";

impl Attribute for Pool {
    fn key(&self) -> &'static str {
        "pool"
    }

    fn owns(&self, action: &Action) -> bool {
        matches!(action, Action::Create | Action::Delete)
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        matches!(d.fate(), Some(Fate::Create | Fate::Delete))
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        if crate::capability::of(kind).pool_batch.default > 0 {
            Ok(())
        } else {
            Err("only geelark creates and deletes phones (pools)")
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.pool = d.pool.as_ref().map(|p| match p.fate {
            Fate::Delete => DELETED.to_owned(),
            _ => p.pool.clone(),
        });
    }

    fn observed(&self, _: ProviderKind, d: &DesiredPhone, _: &ObservedPhone, view: &mut PhoneView) {
        view.pool = d.pool.as_ref().map(|p| p.pool.clone());
    }

    fn blocked(&self, d: &DesiredPhone, _o: &ObservedPhone) -> Option<String> {
        (d.fate() == Some(Fate::Delete) && d.protect).then(|| {
            "beyond its pool's count, but the pool is protected (`protect: true`): phonefleet never \
             deletes it; remove `protect` to let the count drop"
                .to_owned()
        })
    }

    fn diff(&self, d: &DesiredPhone, _o: &ObservedPhone) -> Option<Action> {
        // A phone to create that is found was created since (by an earlier apply): nothing to do.
        (d.fate() == Some(Fate::Delete)).then_some(Action::Delete)
    }

    fn reached(&self, action: &Action, _: &DesiredPhone, _: &ObservedPhone, _: bool) -> bool {
        // Found: created. (A delete is reached when the phone is not found: `apply::reached`.)
        *action == Action::Create
    }

    fn goal(&self, action: &Action, _d: &DesiredPhone) -> String {
        if *action == Action::Create {
            "the new phone in its list".into()
        } else {
            "the phone gone from its list".into()
        }
    }

    fn payload(
        &self,
        _kind: ProviderKind,
        action: &Action,
        d: &DesiredPhone,
        _o: Option<&ObservedPhone>,
        phone: &mut BatchPhone,
    ) {
        let (Action::Create, Some(pool)) = (action, &d.pool) else {
            return;
        };
        phone.name.clone_from(&d.name);
        phone.set.insert("pool".into(), pool.pool.clone().into());
        phone.set.insert(
            "template".into(),
            serde_json::to_value(&pool.template).unwrap_or_default(),
        );
        if let Some(g) = &d.group {
            phone.set.insert("group".into(), g.clone().into());
        }
        if let Some(t) = &d.tags {
            phone.set.insert("tags".into(), t.iter().cloned().collect());
        }
        if let Some(r) = &d.remark {
            phone.set.insert("remark".into(), r.clone().into());
        }
        if let Some(p) = &d.proxy {
            phone.set.insert("proxy".into(), p.clone().into());
        }
    }

    fn batch_key(&self, phone: &BatchPhone) -> String {
        // One pool's phones share a create (its template); deletes share any call.
        super::shared_value(phone, "pool")
    }
}

/// The actions of a pool member to create: none once it is found (created since), else the create
/// and, for a pool declared running, the start that follows it.
pub fn to_create(d: &DesiredPhone, found: bool) -> Vec<Action> {
    if found {
        return Vec::new();
    }
    let mut actions = vec![Action::Create];
    if d.state == Some(PowerState::Running) {
        actions.push(Action::Start);
    }
    actions
}
