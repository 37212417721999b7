//! Reading a spec file: bytes -> UTF-8 -> YAML -> JSON value -> JSON Schema -> typed [`FleetSpec`] ->
//! semantic checks. Every problem found on the way is reported at once, each with file, line, column and
//! field path.
//!
//! YAML parsing stays in this file (serde_yaml is archived upstream; keeping it here keeps the swap
//! cheap). Hostile input is bounded: only regular files are read, and at most [`MAX_SPEC_BYTES`] of
//! them (a cap on the read itself, not on the size the file system reports); characters a reviewer
//! cannot see and deep flow nesting are refused before the parser runs ([`super::scan`]); serde_yaml
//! refuses alias bombs (repetition limit) and deep block nesting (recursion limit 128).

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::diagnostic::{Diagnostic, Diagnostics, display_path, escape_segment, unescape_segment};
pub(crate) use super::report::{At, Report};
use super::{FleetSpec, validate};

/// Larger specs are refused, a file or a directory's files together (a 100,000-phone spec is about
/// 10 MiB).
pub const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// A spec that passed every check.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The file as the user named it.
    pub path: String,
    /// The typed spec.
    pub spec: FleetSpec,
    /// `sha256:<hex>` of the file's bytes.
    pub digest: String,
    /// For a directory: which file declares each phone and group entry.
    pub origin: Origin,
}

/// Which file of a directory spec declares each entry (empty for a single file: it is `path`).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The directory's files, as shown.
    pub files: Vec<String>,
    /// For each entry of `phones`, its file (an index into `files`).
    pub phones: Vec<usize>,
    /// For each entry of `groups`, its file.
    pub groups: Vec<usize>,
    /// For each entry of `pools`, its file.
    pub pools: Vec<usize>,
}

impl LoadedSpec {
    /// The file that declares phone `id` of `provider` (the spec's path for a single file).
    pub fn file_of(&self, provider: &str, id: &str) -> &str {
        let o = &self.origin;
        let phone = self
            .spec
            .phones
            .iter()
            .position(|p| p.provider == provider && p.id == id)
            .and_then(|i| o.phones.get(i));
        let group = || {
            self.spec
                .groups
                .iter()
                .position(|g| g.provider == provider && g.ids.iter().any(|x| x == id))
                .and_then(|i| o.groups.get(i))
        };
        let pool = || {
            let name = id.strip_prefix(crate::spec::POOL_ID_PREFIX)?;
            self.spec
                .pools
                .iter()
                .position(|p| p.provider == provider && p.name == name)
                .and_then(|i| o.pools.get(i))
        };
        phone
            .or_else(group)
            .or_else(pool)
            .and_then(|f| o.files.get(*f))
            .map_or(self.path.as_str(), String::as_str)
    }
}

/// How a spec is to be used, which decides what loading checks.
#[derive(Debug, Clone)]
pub enum Use {
    /// Against the real providers: endpoints and variables within what the spec may reach, under the
    /// workflow's consent.
    Real(super::reach::Allow),
    /// Against the local simulator (`--simulate`): no endpoint or credential of the spec is used, so
    /// none is checked.
    Simulated,
}

impl Use {
    /// A real run, under the consent of this process's environment ([`super::reach::Allow::from_env`]).
    pub fn real() -> Use {
        Use::Real(super::reach::Allow::from_env())
    }

    /// `--simulate` or not.
    pub fn of(simulated: bool) -> Use {
        if simulated {
            Use::Simulated
        } else {
            Use::real()
        }
    }

    fn allow(&self) -> Option<&super::reach::Allow> {
        match self {
            Use::Real(allow) => Some(allow),
            Use::Simulated => None,
        }
    }
}

/// Load and check one spec file (or directory) for a real run.
pub fn load_file(path: &Path) -> Result<LoadedSpec, Diagnostics> {
    load_file_for(path, &Use::real())
}

/// Load and check one spec file (or directory) for a use.
pub fn load_file_for(path: &Path, with: &Use) -> Result<LoadedSpec, Diagnostics> {
    let name = path.display().to_string();
    let whole_file = |message: String| Diagnostics(vec![Diagnostic::whole(&name, message)]);
    let meta =
        std::fs::metadata(path).map_err(|e| whole_file(format!("cannot read the file: {e}")))?;
    if meta.is_dir() {
        return super::directory::load_dir(path, with);
    }
    let bytes = crate::fs::read_capped(path, MAX_SPEC_BYTES).map_err(whole_file)?;
    load_str_for(&name, &bytes, with)
}

/// Load and check a spec held in memory for a real run; `name` is used in diagnostics.
pub fn load_str(name: &str, bytes: &[u8]) -> Result<LoadedSpec, Diagnostics> {
    load_str_for(name, bytes, &Use::real())
}

/// Load and check a spec held in memory for a use.
pub fn load_str_for(name: &str, bytes: &[u8], with: &Use) -> Result<LoadedSpec, Diagnostics> {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
    let mut report = Report::new(name);
    let Some(parsed) = parse(&mut report, bytes, false) else {
        return Err(report.finish());
    };
    validate::semantic(&parsed.spec, &mut report, &parsed.skips, with.allow());
    if report.has_errors() {
        return Err(report.finish());
    }
    Ok(LoadedSpec {
        path: name.to_owned(),
        spec: parsed.spec,
        digest,
        origin: Origin::default(),
    })
}

/// One file read to its typed form, before the checks that need the whole spec.
pub(crate) struct Parsed {
    /// The file's spec, without what the schema refused.
    pub(crate) spec: FleetSpec,
    /// What was set aside.
    pub(crate) skips: validate::Skips,
}

/// UTF-8, YAML, JSON, literal secrets, schema (faulty parts reported and set aside), typed form. `None`
/// when the file cannot be read that far. A file of a directory spec may leave `providers` out.
pub(crate) fn parse<'a>(report: &mut Report<'a>, bytes: &'a [u8], in_dir: bool) -> Option<Parsed> {
    let source = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|b| **b == b'\n').count() + 1;
            let column = good.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            report.push_at(
                line,
                column,
                "",
                format!("the file is not valid UTF-8 (byte {})", e.valid_up_to()),
                None,
            );
            return None;
        }
    };
    report.set_source(source);
    if !readable(report, source) {
        return None;
    }
    let yaml: serde_yaml::Value = match serde_yaml::from_str(source) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("duplicate entry") => {
            // A duplicate key is one problem among the others: report it, then read the document
            // again with a parser that keeps the last value, and go on checking.
            let dups = report.index(0).duplicates.clone();
            let mut spots = Vec::new();
            for (pointer, at, first) in dups {
                let key = unescape_segment(pointer.rsplit('/').next().unwrap_or_default());
                report.push_at(
                    at.line,
                    at.column,
                    &display_path(&pointer),
                    format!("duplicate key `{key}` (first at line {})", first.line),
                    None,
                );
                spots.push((at.line, at.column));
            }
            let renamed = without_duplicates(source, &spots);
            match serde_yaml::from_str::<serde_yaml::Value>(&renamed) {
                Ok(v) if report.has_errors() => v,
                _ => {
                    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    report.push_at(line, column, "", format!("invalid YAML: {e}"), None);
                    return None;
                }
            }
        }
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let text = e.to_string();
            let message = match text.find(" at line ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            report.push_at(line, column, "", format!("invalid YAML: {message}"), None);
            return None;
        }
    };
    if yaml.is_null() {
        report.push_at(
            1,
            1,
            "",
            "the spec is empty".into(),
            Some("a spec starts with `version: 1`, then `providers:` and `phones:` (see `phonefleet schema`)".into()),
        );
        return None;
    }
    let json = yaml_to_json(yaml, &NodePath::Root, report)?;
    if !json.is_object() {
        report.push(
            "",
            "the spec must be a mapping with `version`, `providers` and `phones`".into(),
            None,
        );
        return None;
    }

    let mut json = json;
    if in_dir && let Some(map) = json.as_object_mut() {
        map.entry("providers")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    validate::literal_secrets(&json, report);
    let faults = schema_errors(&json, report);
    // Every problem in one pass: the entries the schema refused are set aside (and their references
    // not reported again), and the semantic checks run over the rest.
    let skips = set_aside(&mut json, &faults);
    match serde_json::from_value(json) {
        Ok(spec) => Some(Parsed { spec, skips }),
        Err(e) => {
            // The schema mirrors the types, so this is only reached if the two drift apart.
            if !report.has_errors() {
                report.push("", format!("does not match the spec format: {e}"), None);
            }
            None
        }
    }
}

/// Refuse what [`super::scan`] finds, each where it stands; `false` when the parser must not run.
fn readable(report: &mut Report<'_>, source: &str) -> bool {
    let hidden = super::scan::hidden(source);
    for h in hidden.iter().take(20) {
        report.push_at(
            h.line,
            h.column,
            "",
            format!(
                "{} is not allowed in a spec: the YAML parser reads it as a line break or reorders the \
                 text, while a reviewer's diff does not show it",
                h.describe()
            ),
            Some("delete it (and read the line again: what follows it may be hidden)".into()),
        );
    }
    if let Some((line, column)) = super::scan::too_deep(source, super::scan::MAX_FLOW_DEPTH) {
        report.push_at(
            line,
            column,
            "",
            format!(
                "`[` and `{{` nest deeper than {} levels here; a fleet spec needs a handful",
                super::scan::MAX_FLOW_DEPTH
            ),
            None,
        );
        return false;
    }
    hidden.is_empty()
}

/// Convert a YAML value to JSON, reporting what JSON cannot hold (tags, non-scalar keys, NaN).
/// Where a node sits, as a chain up to the root: the JSON pointer is only written out when there is a
/// problem to report (a 100,000-phone spec has 100,000 nodes that never need one).
#[derive(Clone, Copy)]
enum NodePath<'a> {
    Root,
    Index(&'a NodePath<'a>, usize),
    Key(&'a NodePath<'a>, &'a str),
}

impl NodePath<'_> {
    fn pointer(&self) -> String {
        match self {
            NodePath::Root => String::new(),
            NodePath::Index(parent, i) => format!("{}/{i}", parent.pointer()),
            NodePath::Key(parent, k) => {
                format!("{}/{}", parent.pointer(), escape_segment(k))
            }
        }
    }
}

fn yaml_to_json(v: serde_yaml::Value, at: &NodePath<'_>, report: &mut Report<'_>) -> Option<Value> {
    use serde_yaml::Value as Y;
    Some(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                match n.as_f64().and_then(serde_json::Number::from_f64) {
                    // Every number of a spec is a whole number: `1e3` or `1000.0` is said plainly,
                    // and read as the whole number so that the rest is still checked.
                    Some(_)
                        if n.as_f64()
                            .is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15) =>
                    {
                        let whole = n.as_f64().unwrap_or_default() as i64;
                        report.push(
                            &at.pointer(),
                            format!(
                                "a decimal number (such as 1e3 or 1000.0) where a whole number is wanted: write `{whole}`"
                            ),
                            None,
                        );
                        Value::from(whole)
                    }
                    Some(f) => Value::Number(f),
                    None => {
                        report.push(
                            &at.pointer(),
                            format!("the number {n} cannot be used here"),
                            None,
                        );
                        return None;
                    }
                }
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                out.push(yaml_to_json(item, &NodePath::Index(at, i), report)?);
            }
            Value::Array(out)
        }
        Y::Mapping(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, val) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => {
                        report.push(
                            &at.pointer(),
                            "mapping keys must be plain strings".into(),
                            None,
                        );
                        return None;
                    }
                };
                if key.starts_with(DUPLICATE_MARK) {
                    continue; // reported as a duplicate already
                }
                let val = yaml_to_json(val, &NodePath::Key(at, &key), report)?;
                out.insert(key, val);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            report.push(
                &at.pointer(),
                format!("YAML tags such as `{}` are not supported in a spec", t.tag),
                None,
            );
            return None;
        }
    })
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| jsonschema::validator_for(schema()).expect("the generated schema compiles"))
}

/// The spec's JSON Schema, generated once a run (the validator and "fields allowed here" read it).
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(super::json_schema)
}

/// What the schema refused, for setting it aside before the semantic checks.
pub(crate) enum Fault {
    /// An unknown field of the object at this pointer: removed.
    Unknown(String, String),
    /// Something wrong at (or under) this pointer: its entry is set aside.
    At(String),
}

/// Run the JSON Schema and turn its errors into diagnostics with plain-spoken messages (and "did you
/// mean" hints); returns what it refused.
fn schema_errors(json: &Value, report: &mut Report<'_>) -> Vec<Fault> {
    use jsonschema::error::ValidationErrorKind as K;
    let mut faults = Vec::new();
    for err in validator().iter_errors(json) {
        let pointer = err.instance_path().as_str().to_owned();
        let in_credentials = pointer.contains("/credentials/");
        match err.kind() {
            K::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    faults.push(Fault::Unknown(pointer.clone(), key.clone()));
                    if validate::is_secret_key(key) {
                        continue; // reported by `literal_secrets` with the right advice
                    }
                    let child = format!("{pointer}/{}", escape_segment(key));
                    let allowed = allowed_fields(&pointer);
                    let hint = match super::suggest::hint(key, allowed.split(", ").filter(|f| !f.is_empty())) {
                        Some(mean) => Some(format!("{mean} (fields allowed here: {allowed})")),
                        None => (!allowed.is_empty())
                            .then(|| format!("fields allowed here: {allowed}")),
                    };
                    report.push_pointer(&child, At::Key, format!("unknown field `{key}`"), hint);
                }
                continue;
            }
            K::Type { .. } if is_property_value(&pointer) => report.push(
                &pointer,
                format!(
                    "property values are strings or whole numbers, and `{}` is neither",
                    err.instance()
                ),
                Some(if err.instance().is_boolean() {
                    format!(
                        "CPH switches take 1 or 0; for the text, quote it: \"{}\"",
                        scalar_text(err.instance())
                    )
                } else {
                    format!("quote the value: \"{}\"", scalar_text(err.instance()))
                }),
            ),
            K::Type { .. } if is_phone_id(&pointer) && err.instance().is_number() => report.push(
                &pointer,
                format!("a phone id is text, and `{}` was read as a number", err.instance()),
                Some(format!(
                    "quote it: \"{}\" (YAML reads bare digits as a number, and drops leading zeros)",
                    err.instance()
                )),
            ),
            K::Enum { options } => {
                let given = scalar_text(err.instance());
                let allowed: Vec<String> = options
                    .as_array()
                    .map(|a| a.iter().map(scalar_text).collect())
                    .unwrap_or_default();
                let hint = super::suggest::hint(&given, allowed.iter().map(String::as_str));
                report.push(&pointer, err.to_string(), hint);
            }
            K::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                report.push(&pointer, format!("missing field `{name}`"), None);
            }
            K::Pattern { .. } if in_credentials => report.push(
                &pointer,
                "must be the name of an environment variable (letters, digits and '_'), not the secret itself".into(),
                Some("put the secret in an environment variable and write its name here, e.g. `token_env: CPH_TOKEN`".into()),
            ),
            _ if in_credentials => report.push(&pointer, err.masked().to_string(), None),
            _ => report.push(&pointer, err.to_string(), None),
        }
        faults.push(Fault::At(pointer));
    }
    faults
}

/// Set aside what the schema refused so that the rest deserializes: unknown fields are removed; an
/// entry (provider, phone, group) with a problem is replaced by a placeholder that the semantic checks
/// skip, so that indices, and with them every other problem's line, stay as written.
fn set_aside(json: &mut Value, faults: &[Fault]) -> validate::Skips {
    let mut skips = validate::Skips::default();
    for fault in faults {
        let pointer = match fault {
            Fault::Unknown(object, key) => {
                if let Some(map) = json.pointer_mut(object).and_then(Value::as_object_mut) {
                    map.remove(key);
                }
                continue;
            }
            Fault::At(pointer) => pointer,
        };
        let segs: Vec<String> = pointer.split('/').skip(1).map(unescape_segment).collect();
        let Some(root) = json.as_object_mut() else {
            return skips;
        };
        match segs
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [] => {
                // A missing top-level field.
                root.entry("version").or_insert_with(|| {
                    skips.version = true;
                    Value::from(1)
                });
                root.entry("providers")
                    .or_insert_with(|| serde_json::json!({}));
            }
            ["version", ..] => {
                skips.version = true;
                root.insert("version".into(), Value::from(1));
            }
            ["providers"] => {
                root.insert("providers".into(), serde_json::json!({}));
            }
            ["providers", name, ..] => {
                if let Some(map) = root.get_mut("providers").and_then(Value::as_object_mut) {
                    map.insert((*name).to_owned(), serde_json::json!({"kind": "geelark"}));
                    skips.providers.insert((*name).to_owned());
                }
            }
            ["safety"] => {
                root.remove("safety");
            }
            ["safety", field, ..] => {
                // A faulty guard is reported and left out; the others are still checked.
                if let Some(map) = root.get_mut("safety").and_then(Value::as_object_mut) {
                    map.remove(*field);
                }
            }
            ["pools", ..] => {
                // A pool that is not well formed is reported and left out as a whole.
                root.remove("pools");
            }
            [list @ ("phones" | "groups")] => {
                root.insert((*list).to_owned(), serde_json::json!([]));
            }
            [list @ ("phones" | "groups"), index, "properties", key] => {
                // One bad value: only that key is set aside, the entry is still checked.
                if let Some(props) = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| root.get_mut(*list)?.as_array_mut()?.get_mut(i))
                    .and_then(|e| e.get_mut("properties"))
                    .and_then(Value::as_object_mut)
                {
                    props.remove(*key);
                }
            }
            [list @ ("phones" | "groups"), index, field, ..]
                if !matches!(*field, "id" | "provider" | "ids") =>
            {
                // A faulty setting (`state: stoped`) is left out and the rest of the entry is still
                // checked (its `provider`, say), so that one run names every problem.
                if let Some(entry) = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| root.get_mut(*list)?.as_array_mut()?.get_mut(i))
                    .and_then(Value::as_object_mut)
                {
                    entry.remove(*field);
                }
            }
            [list @ ("phones" | "groups"), index, ..] => {
                let Ok(i) = index.parse::<usize>() else {
                    continue;
                };
                let placeholder = if *list == "phones" {
                    serde_json::json!({"id": "set-aside", "provider": "set-aside"})
                } else {
                    serde_json::json!({"provider": "set-aside", "ids": ["set-aside"]})
                };
                if let Some(slot) = root
                    .get_mut(*list)
                    .and_then(Value::as_array_mut)
                    .and_then(|a| a.get_mut(i))
                {
                    *slot = placeholder;
                    if *list == "phones" {
                        skips.phones.insert(i);
                    } else {
                        skips.groups.insert(i);
                    }
                }
            }
            _ => {}
        }
    }
    skips
}

/// A phone's `id`, or an entry of a group's `ids`.
fn is_phone_id(pointer: &str) -> bool {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    matches!(
        segs.as_slice(),
        ["phones", _, "id"] | ["groups", _, "ids", _]
    )
}

/// Keys that stood twice, renamed so that the document parses; dropped when it becomes JSON.
const DUPLICATE_MARK: &str = "__phonefleet_duplicate__";

/// `source` with each duplicate key (at its 1-based line and column) renamed with [`DUPLICATE_MARK`],
/// once the duplicates are reported, so that everything else in the file is still checked.
fn without_duplicates(source: &str, spots: &[(usize, usize)]) -> String {
    let mut offsets: Vec<usize> = spots
        .iter()
        .filter_map(|&(line, column)| {
            let start: usize = source
                .split_inclusive('\n')
                .take(line.checked_sub(1)?)
                .map(str::len)
                .sum();
            let text = source.get(start..)?;
            let at = start + text.char_indices().nth(column.checked_sub(1)?)?.0;
            // Inside the quotes of a quoted key.
            let quoted = source[at..].starts_with(['"', '\'']);
            Some(at + usize::from(quoted))
        })
        .collect();
    offsets.sort_unstable();
    let mut out = String::with_capacity(source.len() + offsets.len() * 32);
    let mut last = 0;
    for (n, at) in offsets.into_iter().enumerate() {
        out.push_str(&source[last..at]);
        out.push_str(&format!("{DUPLICATE_MARK}{n}_"));
        last = at;
    }
    out.push_str(&source[last..]);
    out
}

fn is_property_value(pointer: &str) -> bool {
    let mut segs = pointer.rsplit('/');
    segs.next();
    segs.next() == Some("properties")
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The field names allowed in the object at `pointer`, for "unknown field" hints.
fn allowed_fields(pointer: &str) -> String {
    /// Follow `$ref`s (and the one alternative that is not `null`) to the object schema itself.
    fn resolve<'a>(defs: &'a Value, mut node: &'a Value) -> &'a Value {
        for _ in 0..8 {
            if let Some(r) = node["$ref"].as_str() {
                node = &defs[r.trim_start_matches("#/$defs/")];
            } else if let Some(alts) = node["anyOf"].as_array().or(node["oneOf"].as_array()) {
                match alts.iter().find(|a| a["type"] != "null") {
                    Some(a) => node = a,
                    None => break,
                }
            } else {
                break;
            }
        }
        node
    }
    let schema = schema();
    let defs = &schema["$defs"];
    let mut node = resolve(defs, schema);
    for seg in pointer.split('/').skip(1) {
        let next = if seg.parse::<usize>().is_ok() && node["items"].is_object() {
            &node["items"]
        } else if let Some(p) = node["properties"].get(seg) {
            p
        } else if node["additionalProperties"].is_object() {
            &node["additionalProperties"]
        } else {
            return String::new();
        };
        node = resolve(defs, next);
    }
    node["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}
