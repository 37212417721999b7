//! `phonefleet export --provider NAME SPEC`: write the phones an account already holds as a fleet spec.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, bail};

use crate::cli::settings::{ExportSettings, GlobalSettings};
use crate::error::ExitStatus;
use crate::export::{self, Layout};
use crate::session::{self, Overrides, Session};
use crate::spec;

/// List the account and print the spec on stdout.
pub async fn export(
    settings: &ExportSettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let loaded = spec::load_file(&settings.spec)?;
    let Some(config) = loaded.spec.providers.get(&settings.provider) else {
        let known: Vec<&str> = loaded.spec.providers.keys().map(String::as_str).collect();
        bail!(
            "provider `{}` is not defined in {} (defined: {})",
            settings.provider,
            loaded.path,
            known.join(", ")
        );
    };
    let providers: BTreeMap<String, spec::ProviderConfig> =
        [(settings.provider.clone(), config.clone())]
            .into_iter()
            .collect();
    let limits = session::limits_for(&providers, Overrides::default());
    let seed: Vec<_> = loaded
        .spec
        .desired_phones()
        .into_iter()
        .filter(|d| d.provider == settings.provider)
        .collect();
    let simulate = settings.simulate.then_some(false);
    let deadline = std::time::Instant::now() + settings.timeout;
    let session = Session::open(
        &providers,
        &seed,
        &limits,
        simulate,
        global.verbose > 0,
        deadline,
    )
    .await?;
    let with_properties = settings.with_properties && config.kind == spec::ProviderKind::HuaweiCph;
    if settings.with_properties && !with_properties {
        eprintln!(
            "note: {} has no properties; --with-properties ignored",
            config.kind
        );
    }
    eprintln!("Listing every phone of provider `{}`...", settings.provider);
    let listed = session.clients[&settings.provider]
        .list_all(with_properties)
        .await
        .with_context(|| {
            format!(
                "failed to list the phones of provider `{}`",
                settings.provider
            )
        });
    session.close().await?;
    let listed = listed?;
    let layout = if settings.group_by_state {
        Layout::GroupByState
    } else {
        Layout::Phones
    };
    let text = export::spec_yaml(&settings.provider, config, &listed, with_properties, layout);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    eprintln!(
        "Exported {} phone{}.",
        listed.len(),
        if listed.len() == 1 { "" } else { "s" }
    );
    Ok(ExitStatus::Success)
}
