//! `phonefleet export SPEC [--provider NAME]`: write the phones provider accounts already hold as one
//! fleet spec: every provider of SPEC, or the one named.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, bail};

use crate::capability::{Overrides, limits_for};
use crate::cli::settings::{ExportSettings, GlobalSettings};
use crate::error::ExitStatus;
use crate::export::{self, Account, Layout};
use crate::ops::fleet::{Fleet, Reach};
use crate::spec;

/// List the accounts and print the spec on stdout.
pub async fn export(
    settings: &ExportSettings,
    global: &GlobalSettings,
) -> anyhow::Result<ExitStatus> {
    let loaded = spec::load_file_for(&settings.spec, &spec::Use::of(settings.simulate))?;
    let providers: BTreeMap<String, spec::ProviderConfig> = match &settings.provider {
        Some(name) => {
            let Some(config) = loaded.spec.providers.get(name) else {
                let known: Vec<&str> = loaded.spec.providers.keys().map(String::as_str).collect();
                bail!(
                    "provider `{name}` is not defined in {} (defined: {})",
                    loaded.path,
                    known.join(", ")
                );
            };
            [(name.clone(), config.clone())].into_iter().collect()
        }
        None => loaded.spec.providers.clone(),
    };
    if providers.is_empty() {
        bail!("{} defines no provider to export", loaded.path);
    }
    let limits = limits_for(&providers, Overrides::default());
    let seed: Vec<_> = loaded
        .spec
        .desired_phones()
        .into_iter()
        .filter(|d| providers.contains_key(&d.provider))
        .collect();
    let reach = if settings.simulate {
        Reach::Simulate { reset: false }
    } else {
        Reach::Spec
    };
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let fleet = Fleet::open(
        &providers,
        &seed,
        &limits,
        reach,
        global.verbose > 0,
        deadline,
    )
    .await?;
    let has_properties = |c: &spec::ProviderConfig| crate::capability::of(c.kind).properties;
    if settings.with_properties && !providers.values().any(has_properties) {
        eprintln!("note: only huawei-cph phones have properties; --with-properties ignored");
    }
    let names: Vec<&str> = providers.keys().map(String::as_str).collect();
    eprintln!(
        "Listing every phone of provider{} {}...",
        if names.len() == 1 { "" } else { "s" },
        names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Every account is listed side by side; one that fails fails the export (a partial spec would
    // look complete).
    let clients = &fleet.clients;
    let listing = futures::future::join_all(providers.iter().map(|(name, config)| {
        let with = settings.with_properties && has_properties(config);
        async move {
            clients[name]
                .list_all(with)
                .await
                .with_context(|| format!("failed to list the phones of provider `{name}`"))
        }
    }));
    // With the fleet's masks in force: listed text is cleaned of its secrets.
    let listed = fleet.run(listing).await;
    fleet.close().await?;
    let mut listed: Vec<Vec<crate::provider::Listed>> =
        listed.into_iter().collect::<anyhow::Result<_>>()?;
    let selection = crate::select::Listing::new(&loaded, &settings.selection)?;
    for (name, phones) in providers.keys().zip(&mut listed) {
        phones.retain(|l| selection.keeps(name, &l.id, l.name.as_deref()));
    }
    selection.check_all_used()?;
    let accounts: Vec<Account<'_>> = providers
        .iter()
        .zip(&listed)
        .map(|((name, config), phones)| Account {
            name,
            config,
            phones,
        })
        .collect();
    let layout = if settings.group_by_state {
        Layout::GroupByState
    } else {
        Layout::Phones
    };
    let text = export::spec_yaml(
        &accounts,
        export::Options {
            with_properties: settings.with_properties,
            layout,
            phones_only: settings.phones_only,
        },
    );
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let total: usize = listed.iter().map(Vec::len).sum();
    eprintln!(
        "Exported {total} phone{}.",
        if total == 1 { "" } else { "s" }
    );
    Ok(ExitStatus::Success)
}
