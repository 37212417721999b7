//! Collecting diagnostics while a spec is checked: problems are named by JSON pointer, and turned into
//! file, line and column only when there is something to say (a valid spec never indexes positions).
//!
//! A spec that is a directory of files is checked as one document; a [`Route`] maps each pointer of
//! that merged document (`/phones/12`, `/providers/gl`) back to its file and its pointer there.

use std::collections::HashMap;

use super::diagnostic::{Diagnostic, Diagnostics, display_path};
use super::position::PositionIndex;

/// One file's text, and its position index once built.
struct Source<'a> {
    name: &'a str,
    text: &'a str,
    index: Option<PositionIndex>,
}

/// Where each part of a merged spec came from: (file, index in that file) per phone and group entry,
/// the file of each provider and of `safety`.
#[derive(Debug, Default)]
pub(crate) struct Route {
    pub(crate) phones: Vec<(usize, usize)>,
    pub(crate) groups: Vec<(usize, usize)>,
    pub(crate) pools: Vec<(usize, usize)>,
    pub(crate) providers: HashMap<String, usize>,
    pub(crate) schedules: HashMap<String, usize>,
    pub(crate) safety: Option<usize>,
    pub(crate) watch: Option<usize>,
}

impl Route {
    /// The file and local pointer of a pointer into the merged document.
    fn locate(&self, pointer: &str) -> (usize, String) {
        let mut segs = pointer.splitn(4, '/').skip(1);
        let (head, second) = (segs.next().unwrap_or_default(), segs.next());
        let rest = segs.next().map_or_else(String::new, |r| format!("/{r}"));
        let indexed = |table: &[(usize, usize)], list: &str| {
            second
                .and_then(|s| s.parse::<usize>().ok())
                .and_then(|i| table.get(i))
                .map(|&(file, local)| (file, format!("/{list}/{local}{rest}")))
        };
        let found = match head {
            "phones" => indexed(&self.phones, "phones"),
            "groups" => indexed(&self.groups, "groups"),
            "pools" => indexed(&self.pools, "pools"),
            "providers" => second
                .and_then(|name| {
                    self.providers
                        .get(&super::diagnostic::unescape_segment(name))
                })
                .map(|&f| (f, pointer.to_owned())),
            "schedules" => second
                .and_then(|name| {
                    self.schedules
                        .get(&super::diagnostic::unescape_segment(name))
                })
                .map(|&f| (f, pointer.to_owned())),
            "safety" => self.safety.map(|f| (f, pointer.to_owned())),
            "watch" => self.watch.map(|f| (f, pointer.to_owned())),
            _ => None,
        };
        found.unwrap_or((0, pointer.to_owned()))
    }
}

/// Collects diagnostics for one file, or for the files of a directory checked as one spec.
pub(crate) struct Report<'a> {
    files: Vec<Source<'a>>,
    route: Option<Route>,
    items: Vec<Diagnostic>,
}

/// Whether a diagnostic points at a mapping key (unknown or misplaced field) or at a value.
#[derive(Clone, Copy)]
pub(crate) enum At {
    Key,
    Value,
}

impl<'a> Report<'a> {
    /// A report on one file (its text set once it is known to be UTF-8).
    pub(crate) fn new(file: &'a str) -> Report<'a> {
        Report {
            files: vec![Source {
                name: file,
                text: "",
                index: None,
            }],
            route: None,
            items: Vec::new(),
        }
    }

    /// A report on the merged document of several files (name, text), routed back by `route`.
    pub(crate) fn merged(files: &[(&'a str, &'a str)], route: Route) -> Report<'a> {
        Report {
            files: files
                .iter()
                .map(|(name, text)| Source {
                    name,
                    text,
                    index: None,
                })
                .collect(),
            route: Some(route),
            items: Vec::new(),
        }
    }

    /// Set the text of a one-file report.
    pub(crate) fn set_source(&mut self, text: &'a str) {
        self.files[0].text = text;
    }

    /// The position index of a file.
    pub(crate) fn index(&mut self, file: usize) -> &PositionIndex {
        let source = &mut self.files[file];
        let text = source.text;
        source
            .index
            .get_or_insert_with(|| PositionIndex::build(text))
    }

    fn locate(&self, pointer: &str) -> (usize, String) {
        match &self.route {
            Some(r) => r.locate(pointer),
            None => (0, pointer.to_owned()),
        }
    }

    /// Report a problem with the value at a JSON pointer.
    pub(crate) fn push(&mut self, pointer: &str, message: String, hint: Option<String>) {
        self.push_pointer(pointer, At::Value, message, hint);
    }

    /// Report a problem at a JSON pointer, at its key or at its value.
    pub(crate) fn push_pointer(
        &mut self,
        pointer: &str,
        at: At,
        message: String,
        hint: Option<String>,
    ) {
        let (file, local) = self.locate(pointer);
        self.push_in(file, &local, at, message, hint);
    }

    /// Report a problem at a pointer of one file.
    pub(crate) fn push_in(
        &mut self,
        file: usize,
        local: &str,
        at: At,
        message: String,
        hint: Option<String>,
    ) {
        let pos = match at {
            At::Key => self.index(file).key(local),
            At::Value => self.index(file).value(local),
        };
        self.items.push(Diagnostic {
            file: self.files[file].name.to_owned(),
            line: pos.line,
            column: pos.column,
            path: display_path(local),
            message,
            hint,
        });
    }

    /// `FILE:LINE` of the key at a pointer of one file.
    pub(crate) fn key_place(&mut self, file: usize, local: &str) -> String {
        let line = self.index(file).key(local).line;
        format!("{}:{line}", self.files[file].name)
    }

    /// Where the value at `pointer` starts, said from where `from` is: `line 12` in the same file,
    /// `other.yaml:12` in another.
    pub(crate) fn place_of(&mut self, pointer: &str, from: &str) -> String {
        let (file, local) = self.locate(pointer);
        let (here, _) = self.locate(from);
        let line = self.index(file).value(&local).line;
        if file == here {
            format!("line {line}")
        } else {
            format!("{}:{line}", self.files[file].name)
        }
    }

    /// A problem at a known line and column of the (first) file.
    pub(crate) fn push_at(
        &mut self,
        line: usize,
        column: usize,
        path: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.items.push(Diagnostic {
            file: self.files[0].name.to_owned(),
            line,
            column,
            path: path.to_owned(),
            message,
            hint,
        });
    }

    /// Diagnostics found elsewhere (each file on its own), to be reported with these.
    pub(crate) fn take(&mut self, found: Vec<Diagnostic>) {
        self.items.extend(found);
    }

    /// Whether anything was reported.
    pub(crate) fn has_errors(&self) -> bool {
        !self.items.is_empty()
    }

    /// The diagnostics, in file order, then by position.
    pub(crate) fn finish(mut self) -> Diagnostics {
        let order: HashMap<&str, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name, i))
            .collect();
        self.items
            .sort_by_key(|a| (order.get(a.file.as_str()).copied(), a.line, a.column));
        self.items.dedup();
        Diagnostics(self.items)
    }
}
