//! `image` and resets: a CPH phone's image (`image_id` of the list) as declared state, and the reset
//! that brings a phone onto it or that `--reset SELECTOR` asks for. A reset clears the phone's data
//! (and apps): CPH `batch-reset` (carrying the declared image), KooPhone `batch-reset`, GeeLark
//! `phone/newOne` (one phone a call, a new device identity). It is destructive: guarded by
//! `safety.max_resets`, never made to a protected phone, confirmed by the phone running again (and on
//! the declared image).

use super::Attribute;
use crate::plan::{Action, BatchPhone, PhoneView};
use crate::spec::{DesiredPhone, ProviderKind};
use crate::state::{ObservedPhone, Power};

/// The image attribute, owner of resets.
pub(super) struct Image;

impl Attribute for Image {
    fn key(&self) -> &'static str {
        "image"
    }

    fn owns(&self, action: &Action) -> bool {
        *action == Action::Reset
    }

    fn declared(&self, d: &DesiredPhone) -> bool {
        d.image.is_some()
    }

    fn supported_by(&self, kind: ProviderKind) -> Result<(), &'static str> {
        if crate::capability::of(kind).image {
            Ok(())
        } else {
            Err("only huawei-cph declares a phone's image")
        }
    }

    fn supports_action(&self, kind: ProviderKind, _action: &Action) -> Result<(), &'static str> {
        if crate::capability::of(kind).reset_batch.default > 0 {
            Ok(())
        } else {
            Err("this provider documents no reset")
        }
    }

    fn desired(&self, d: &DesiredPhone, view: &mut PhoneView) {
        view.image.clone_from(&d.image);
    }

    fn observed(&self, _: ProviderKind, _: &DesiredPhone, o: &ObservedPhone, view: &mut PhoneView) {
        view.image = Some(o.image().unwrap_or_default().to_owned());
    }

    fn blocked(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<String> {
        (d.protect && self.diff(d, o).is_some()).then(|| {
            "on another image than declared, and protected (`protect: true`): phonefleet never resets \
             a protected phone (a reset clears its data)"
                .to_owned()
        })
    }

    fn diff(&self, d: &DesiredPhone, o: &ObservedPhone) -> Option<Action> {
        let want = d.image.as_deref()?;
        (o.image() != Some(want)).then_some(Action::Reset)
    }

    fn reached(&self, _: &Action, d: &DesiredPhone, o: &ObservedPhone, in_progress: bool) -> bool {
        let image = d.image.is_none() || o.image() == d.image.as_deref();
        (o.power == Power::Running && image) || (in_progress && o.power == Power::Transitioning)
    }

    fn goal(&self, _action: &Action, d: &DesiredPhone) -> String {
        match &d.image {
            Some(i) => format!("running again on image {i} after its reset"),
            None => "running again after its reset".into(),
        }
    }

    fn read(&self, target: &mut crate::provider::ObserveTarget) {
        // CPH lists a phone's image with its status: kept for the phones that declare one.
        target.listed = true;
    }

    fn payload(
        &self,
        _kind: ProviderKind,
        _action: &Action,
        d: &DesiredPhone,
        _o: Option<&ObservedPhone>,
        phone: &mut BatchPhone,
    ) {
        if let Some(i) = &d.image {
            phone.set.insert("image".into(), i.clone().into());
        }
    }

    fn batch_key(&self, phone: &BatchPhone) -> String {
        // Phones reset onto one image share a call (CPH's `image_id` is per call).
        super::shared_value(phone, "image")
    }
}

/// `--reset SELECTOR` selected this phone: reset it once, unless it is protected or its kind documents
/// no reset (a note says why), or a changed image resets it anyway. What the reset destroys is said
/// beside it.
pub fn asked_reset(
    kind: ProviderKind,
    d: &DesiredPhone,
    actions: &mut Vec<Action>,
    notes: &mut Vec<String>,
) {
    if actions.contains(&Action::Reset) {
        return;
    }
    if d.protect {
        notes.push("--reset: protected (`protect: true`), so not reset".to_owned());
    } else if let Err(why) = super::supports_why(kind, &Action::Reset) {
        notes.push(format!("--reset: {why}; not reset"));
    } else {
        // First in the phone's chain: what follows is made on the fresh phone.
        actions.insert(0, Action::Reset);
    }
}

/// What a planned reset does and by which call, for the notes beside it.
pub fn reset_note(kind: ProviderKind, actions: &[Action], notes: &mut Vec<String>) {
    if actions.contains(&Action::Reset) {
        notes.push(format!("reset: {}", crate::capability::of(kind).reset_says));
    }
}
