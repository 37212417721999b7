//! What one declared phone needs, from what was read of it: the actions (in the order one phone's
//! changes run), or why nothing can be done (blocked), and the notes shown beside it; and whether a
//! phone on its way to its declared power state is converging rather than drifting. Pure.

use super::{Action, Converging, Policy};
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::{self, Observation, Power};

/// A phone that matches the spec but for a power state it is on its way to (a declared `running`
/// phone that is starting): shown, never drift.
pub(super) fn converging(
    kind: ProviderKind,
    d: &DesiredPhone,
    obs: &Observation,
) -> Option<Converging> {
    let Observation::Found(o) = obs else {
        return None;
    };
    let want = d.state?;
    (o.power == Power::Transitioning).then(|| Converging {
        provider: d.provider.clone(),
        phone_id: d.id.clone(),
        name: d.name.clone(),
        status: format!(
            "{} ({}), on its way to {}",
            o.raw_status,
            state::meaning(kind, o.raw_status),
            want.as_str()
        ),
    })
}

/// The images a provider's account can use, when they were listed.
fn input_images<'a>(
    policy: &'a Policy,
    provider: &str,
) -> Option<&'a std::collections::BTreeSet<String>> {
    policy.images.get(provider)
}

/// What to do about one phone.
pub(super) fn decide(
    kind: ProviderKind,
    d: &DesiredPhone,
    obs: &Observation,
    policy: &Policy,
) -> (Vec<Action>, Option<String>, Vec<String>) {
    // A pool's member to create: found means created since; not found, it is made (and started).
    if d.fate() == Some(crate::spec::Fate::Create) {
        if let Observation::Unreadable(reason) = obs {
            return (
                Vec::new(),
                Some(format!("could not read: {reason}")),
                Vec::new(),
            );
        }
        let actions = crate::attribute::to_create(d, matches!(obs, Observation::Found(_)));
        let blocked = actions
            .iter()
            .find_map(|a| crate::attribute::supports_why(kind, a).err())
            .map(str::to_owned);
        return match blocked {
            Some(why) => (Vec::new(), Some(why), Vec::new()),
            None => (actions, None, Vec::new()),
        };
    }
    let o = match obs {
        // A pool's member to delete that is gone: done.
        Observation::NotFound if d.fate() == Some(crate::spec::Fate::Delete) => {
            return (Vec::new(), None, Vec::new());
        }
        Observation::NotFound => {
            return (
                Vec::new(),
                Some(format!("phone not found at provider `{}`", d.provider)),
                Vec::new(),
            );
        }
        Observation::Unreadable(reason) => {
            return (
                Vec::new(),
                Some(format!("could not read: {reason}")),
                Vec::new(),
            );
        }
        Observation::Found(o) => o,
    };
    if o.power == Power::Failed
        && policy.restart_failed
        && (crate::provider::dialect::of(kind).restart_cures)(o.raw_status)
        && crate::attribute::supports(kind, &Action::Restart)
    {
        // watch with `heal: [restart]`: a failed phone gets a restart (never a reset).
        return (
            vec![Action::Restart],
            None,
            vec![format!(
                "status {} ({}): restarted by watch (`heal: [restart]`)",
                o.raw_status,
                state::meaning(kind, o.raw_status)
            )],
        );
    }
    if o.power == Power::Failed {
        let meaning = state::meaning(kind, o.raw_status);
        return (
            Vec::new(),
            Some(format!(
                "status {} ({meaning}): needs a person: check it in the provider's console",
                o.raw_status
            )),
            Vec::new(),
        );
    }
    if o.power == Power::Transitioning {
        // In transition: nothing is sent to it now. It is drift only if something is to change or it
        // is on its way away from its declared state; otherwise it matches (or is converging, which
        // `transition` reports).
        let others = crate::attribute::ALL
            .iter()
            .filter(|a| a.declared(d))
            .filter_map(|a| a.diff(d, o))
            .any(|a| !matches!(a, Action::Start | Action::Stop));
        let toward = (crate::provider::dialect::of(kind).toward)(o.raw_status);
        let away = d.state.is_some_and(|s| toward != Some(s));
        if others || away {
            let meaning = state::meaning(kind, o.raw_status);
            return (
                Vec::new(),
                Some(format!(
                    "status {} ({meaning}): wait for it to settle and plan again",
                    o.raw_status
                )),
                Vec::new(),
            );
        }
        return (Vec::new(), None, Vec::new());
    }
    // A declared image the account cannot use is never reset onto.
    if let (Some(image), Some(known)) = (&d.image, input_images(policy, &d.provider))
        && o.image() != Some(image.as_str())
        && !known.contains(image)
    {
        return (
            Vec::new(),
            Some(format!(
                "image `{image}` is not one the account can use (its phone-images list holds {} \
                 image{}: public, private and shared); fix `image`, or share the image with this \
                 project",
                known.len(),
                if known.len() == 1 { "" } else { "s" }
            )),
            Vec::new(),
        );
    }
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for a in crate::attribute::ALL.iter().filter(|a| a.declared(d)) {
        if let Some(why) = a.blocked(d, o) {
            return (Vec::new(), Some(why), Vec::new());
        }
        if let Some(action) = a.diff(d, o) {
            // What validation lets through but the kind cannot do (power on KooPhone) blocks the
            // phone, saying why.
            if let Err(why) = a.supported_by(kind) {
                return (Vec::new(), Some(why.to_owned()), Vec::new());
            }
            actions.push(action);
        }
    }
    crate::attribute::restart_rule(kind, d, o, &mut actions, &mut notes);
    crate::attribute::pending_rule(kind, d, o, policy.restart_pending, &mut actions, &mut notes);
    // Asked for by selector: looked up only when asked (a lookup builds its key).
    let asked = |set: &std::collections::BTreeSet<(String, String)>| {
        !set.is_empty() && set.contains(&(d.provider.clone(), d.id.clone()))
    };
    if asked(&policy.restart) {
        crate::attribute::asked_restart(kind, o, &mut actions, &mut notes);
    }
    if asked(&policy.reset) {
        crate::attribute::asked_reset(kind, d, &mut actions, &mut notes);
    }
    crate::attribute::reset_note(kind, &actions, &mut notes);
    (actions, None, notes)
}
