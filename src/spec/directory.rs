//! A directory is a fleet: every `*.yaml` / `*.yml` file directly in it (hidden files aside, in name
//! order) is part of one spec, each file with `version: 1`: providers in one file, phones and groups in
//! others, as a team splits them. Each file is read and schema-checked on its own (diagnostics keep
//! their `file:line:column`); the files are then merged, a provider or `safety` given twice refused with
//! both places, and the semantic checks run over the whole (a phone declared twice is named with both
//! files and lines). The digest covers every file, its name included, so a saved plan binds to the set.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::diagnostic::{Diagnostic, Diagnostics, escape_segment};
use super::load::{LoadedSpec, MAX_SPEC_BYTES, Parsed, parse};
use super::report::{At, Report, Route};
use super::{FleetSpec, validate};

/// A problem with the directory (or one of its files) as a whole.
fn whole(file: &str, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic::whole(file, message)])
}

/// The spec files of a directory, in name order.
fn spec_files(dir: &Path, shown: &str) -> Result<Vec<String>, Diagnostics> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| whole(shown, format!("cannot read the directory: {e}")))?;
    let mut names = Vec::new();
    let mut outside = Vec::new();
    // Where the directory really is, for telling a link that stays inside from one that leaves it.
    let home = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    for entry in entries {
        let entry = entry.map_err(|e| whole(shown, format!("cannot read the directory: {e}")))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        // Editors' and tools' hidden files (`.spec.yaml.swp`, `.#spec.yaml`) are not part of a fleet.
        if !yaml || name.starts_with('.') {
            continue;
        }
        // Anything but a directory is listed, so that a device, FIFO or socket (or a link to one) is
        // refused by name when it is read, not skipped in silence.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            continue;
        }
        // A committed link may point anywhere on the runner (`../../outside/creds.json`); a spec
        // directory's files are its own. A link to a device or FIFO is refused when read, by name.
        if kind.is_symlink()
            && let Ok(target) = std::fs::canonicalize(entry.path())
            && target.is_file()
            && !target.starts_with(&home)
        {
            outside.push(Diagnostic::whole(
                &format!("{}/{name}", shown.trim_end_matches('/')),
                format!(
                    "a link to a file outside the spec directory ({}); a spec directory's files \
                     must lie inside it (copy the file in)",
                    std::fs::read_link(entry.path())
                        .map(|l| crate::redact::controls(&l.display().to_string()).into_owned())
                        .unwrap_or_default()
                ),
            ));
            continue;
        }
        names.push(name);
    }
    if !outside.is_empty() {
        return Err(Diagnostics(outside));
    }
    names.sort();
    if names.is_empty() {
        return Err(whole(
            shown,
            "the directory holds no *.yaml or *.yml file; a fleet directory holds the spec's files \
             directly (not in subdirectories)"
                .into(),
        ));
    }
    Ok(names)
}

/// What identifies a spec's files as they are on disk: name, length and modification time of the file,
/// or of each spec file of a directory (those [`spec_files`] reads). Cheap enough to take every `watch`
/// tick; a change in it means the spec is to be read again.
pub fn stamp(path: &Path) -> String {
    let one = |p: &Path| -> String {
        match std::fs::metadata(p) {
            Ok(m) => format!(
                "{}:{}:{:?}",
                p.display(),
                m.len(),
                m.modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            ),
            Err(e) => format!("{}:{e}", p.display()),
        }
    };
    if !path.is_dir() {
        return one(path);
    }
    match spec_files(path, &path.display().to_string()) {
        Ok(names) => names
            .iter()
            .map(|n| one(&path.join(n)))
            .collect::<Vec<_>>()
            .join("|"),
        Err(d) => format!("{}: {d}", path.display()),
    }
}

/// Load and check every spec file of a directory as one spec.
pub(crate) fn load_dir(dir: &Path, with: &super::load::Use) -> Result<LoadedSpec, Diagnostics> {
    let shown = dir.display().to_string();
    let names = spec_files(dir, &shown)?;
    let mut total = 0u64;
    let mut files: Vec<(String, Vec<u8>)> = Vec::with_capacity(names.len());
    let mut hasher = Sha256::new();
    for name in &names {
        let path = dir.join(name);
        let display = path.display().to_string();
        let bytes = crate::fs::read_capped(&path, MAX_SPEC_BYTES - total)
            .map_err(|e| whole(&display, e))?;
        total += bytes.len() as u64;
        if total > MAX_SPEC_BYTES {
            return Err(whole(
                &shown,
                format!(
                    "the files add up to over {MAX_SPEC_BYTES} bytes; larger specs are refused"
                ),
            ));
        }
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
        files.push((display, bytes));
    }
    let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
    let mut problems = Vec::new();
    let mut parsed: Vec<Parsed> = Vec::with_capacity(files.len());
    for (name, bytes) in &files {
        let mut report = Report::new(name);
        if let Some(p) = parse(&mut report, bytes, true) {
            validate::version(&p.spec, &mut report, &p.skips);
            parsed.push(p);
        }
        problems.extend(report.finish().0);
    }
    if parsed.len() < files.len() {
        // A file that could not be read cannot be merged; what it says is above.
        return Err(Diagnostics(problems));
    }
    let sources: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, b)| (n.as_str(), std::str::from_utf8(b).unwrap_or_default()))
        .collect();
    let merged = merge(parsed);
    let origin = super::load::Origin {
        files: files.iter().map(|(name, _)| name.clone()).collect(),
        phones: merged.route.phones.iter().map(|(f, _)| *f).collect(),
        groups: merged.route.groups.iter().map(|(f, _)| *f).collect(),
        pools: merged.route.pools.iter().map(|(f, _)| *f).collect(),
    };
    let mut report = Report::merged(&sources, merged.route);
    for dup in &merged.twice {
        let (pointer, what) = match &dup.provider {
            Some(name) => (
                format!("/{}/{}", dup.section, escape_segment(name)),
                format!(
                    "{} `{name}` is defined twice",
                    dup.section.trim_end_matches('s')
                ),
            ),
            None => (
                format!("/{}", dup.section),
                format!("`{}` is given twice", dup.section),
            ),
        };
        let first = report.key_place(dup.first, &pointer);
        report.push_in(
            dup.again,
            &pointer,
            At::Key,
            format!("{what} (first at {first})"),
            Some("define it in one file of the directory".into()),
        );
    }
    validate::semantic(
        &merged.spec,
        &mut report,
        &merged.skips,
        match with {
            super::load::Use::Real(allow) => Some(allow),
            super::load::Use::Simulated => None,
        },
    );
    if !problems.is_empty() || report.has_errors() {
        // The files' own problems and the merged ones, in file order, then by position.
        report.take(problems);
        return Err(report.finish());
    }
    Ok(LoadedSpec {
        path: shown,
        spec: merged.spec,
        digest,
        origin,
    })
}

/// Something a directory defines twice: a provider or a schedule (by name, in `section`), or `safety`
/// or `watch` (`section`), first and again.
struct Twice {
    provider: Option<String>,
    section: &'static str,
    first: usize,
    again: usize,
}

/// A section a directory may give once (`safety`, `watch`): taken from the first file that gives it;
/// another file giving it again is recorded as given twice.
fn once<T>(
    slot: &mut Option<T>,
    given: Option<T>,
    from: &mut Option<usize>,
    section: &'static str,
    file: usize,
    twice: &mut Vec<Twice>,
) {
    let Some(value) = given else { return };
    match *from {
        Some(first) => twice.push(Twice {
            provider: None,
            section,
            first,
            again: file,
        }),
        None => {
            *from = Some(file);
            *slot = Some(value);
        }
    }
}

/// The files' specs as one, with where each part came from.
struct Merged {
    spec: FleetSpec,
    skips: validate::Skips,
    route: Route,
    twice: Vec<Twice>,
}

/// The entries of a named section (`providers`, `schedules`) of one file, into the spec's: a name given
/// by two files is reported, the first kept.
fn named<T>(
    (into, route): (
        &mut std::collections::BTreeMap<String, T>,
        &mut std::collections::HashMap<String, usize>,
    ),
    from: std::collections::BTreeMap<String, T>,
    section: &'static str,
    file: usize,
    twice: &mut Vec<Twice>,
) {
    for (name, value) in from {
        match route.get(&name) {
            Some(&first) => twice.push(Twice {
                provider: Some(name),
                section,
                first,
                again: file,
            }),
            None => {
                route.insert(name.clone(), file);
                into.insert(name, value);
            }
        }
    }
}

fn merge(parts: Vec<Parsed>) -> Merged {
    let mut spec = FleetSpec {
        version: 1,
        providers: Default::default(),
        phones: Vec::new(),
        groups: Vec::new(),
        pools: Vec::new(),
        schedules: Default::default(),
        safety: None,
        watch: None,
    };
    let mut skips = validate::Skips::default();
    let mut route = Route::default();
    let mut twice = Vec::new();
    for (file, part) in parts.into_iter().enumerate() {
        skips.providers.extend(part.skips.providers);
        for i in part.skips.phones {
            skips.phones.insert(spec.phones.len() + i);
        }
        for i in part.skips.groups {
            skips.groups.insert(spec.groups.len() + i);
        }
        named(
            (&mut spec.providers, &mut route.providers),
            part.spec.providers,
            "providers",
            file,
            &mut twice,
        );
        route
            .phones
            .extend((0..part.spec.phones.len()).map(|i| (file, i)));
        spec.phones.extend(part.spec.phones);
        route
            .groups
            .extend((0..part.spec.groups.len()).map(|i| (file, i)));
        spec.groups.extend(part.spec.groups);
        route
            .pools
            .extend((0..part.spec.pools.len()).map(|i| (file, i)));
        spec.pools.extend(part.spec.pools);
        named(
            (&mut spec.schedules, &mut route.schedules),
            part.spec.schedules,
            "schedules",
            file,
            &mut twice,
        );
        once(
            &mut spec.safety,
            part.spec.safety,
            &mut route.safety,
            "safety",
            file,
            &mut twice,
        );
        once(
            &mut spec.watch,
            part.spec.watch,
            &mut route.watch,
            "watch",
            file,
            &mut twice,
        );
    }
    Merged {
        spec,
        skips,
        route,
        twice,
    }
}
