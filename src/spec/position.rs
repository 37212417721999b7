//! Where each node of a YAML document starts, keyed by JSON pointer, so that schema and semantic errors
//! (which speak in JSON pointers) can name a line and column.
//!
//! Built with yaml-rust2's event parser, iteratively (no recursion, so deep nesting cannot overflow the
//! stack). Only built when there is something to report: a valid 100,000-phone spec never pays for it.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diagnostic::escape_segment;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Positions of the nodes of the first document.
#[derive(Debug, Default)]
pub(crate) struct PositionIndex {
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
    /// Keys that appear twice in one mapping: (pointer, where the repeat is, where the first one is).
    pub(crate) duplicates: Vec<(String, Pos, Pos)>,
}

impl PositionIndex {
    /// Index `source`; on a syntax error the nodes before it are still indexed.
    pub(crate) fn build(source: &str) -> PositionIndex {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(source);
        // A scan error only cuts the index short: the YAML error itself is reported by the loader.
        let _ = parser.load(&mut builder, false);
        builder.index
    }

    /// Where the value at `pointer` starts, or its nearest indexed ancestor.
    pub(crate) fn value(&self, pointer: &str) -> Pos {
        self.lookup(pointer, &self.values)
    }

    /// Where the key of the entry at `pointer` starts (falls back to the value, then the ancestors).
    pub(crate) fn key(&self, pointer: &str) -> Pos {
        match self.keys.get(pointer) {
            Some(pos) => *pos,
            None => self.value(pointer),
        }
    }

    fn lookup(&self, pointer: &str, map: &HashMap<String, Pos>) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = map.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Pos { line: 1, column: 1 },
            }
        }
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A complex (non-scalar) mapping key: ignored until it closes.
    Skip,
}

#[derive(Default)]
struct Builder {
    index: PositionIndex,
    stack: Vec<Frame>,
    documents: usize,
}

fn pos(mark: Marker) -> Pos {
    Pos {
        line: mark.line(),
        column: mark.col() + 1,
    }
}

impl Builder {
    /// The pointer of the node that starts now, or `None` when it is a mapping key.
    fn begin_node(&mut self, scalar_key: Option<&str>, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Skip) => None,
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}/{next}");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(format!("{path}/{}", escape_segment(&k))),
                None => {
                    // This node is a key.
                    let p = path.clone();
                    match scalar_key {
                        Some(s) => {
                            let child = format!("{p}/{}", escape_segment(s));
                            // A repeated key's subtree is indexed under a name no pointer can take,
                            // so that its children are not reported as repeats too.
                            let name = match self.index.keys.get(&child) {
                                Some(first) => {
                                    let first = *first;
                                    self.index.duplicates.push((child, pos(mark), first));
                                    format!("{s}\u{0}{}", self.index.duplicates.len())
                                }
                                None => {
                                    self.index.keys.insert(child, pos(mark));
                                    s.to_owned()
                                }
                            };
                            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                                *key = Some(name);
                            }
                        }
                        None => self.stack.push(Frame::Skip),
                    }
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.documents > 1 {
            return;
        }
        match ev {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(value, ..) => {
                if let Some(p) = self.begin_node(Some(&value), mark) {
                    self.index.values.entry(p).or_insert(pos(mark));
                }
            }
            Event::Alias(_) => {
                if let Some(p) = self.begin_node(Some("<alias>"), mark) {
                    self.index.values.entry(p).or_insert(pos(mark));
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                let was_skip = matches!(self.stack.last(), Some(Frame::Skip));
                match self.begin_node(None, mark) {
                    Some(p) => {
                        self.index.values.entry(p.clone()).or_insert(pos(mark));
                        self.stack.push(if is_map {
                            Frame::Map { path: p, key: None }
                        } else {
                            Frame::Seq { path: p, next: 0 }
                        });
                    }
                    // begin_node pushed a Skip for a complex key; inside a Skip, nest another.
                    None if was_skip => self.stack.push(Frame::Skip),
                    None => {}
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pointers_to_lines() {
        let src = "version: 1\nproviders:\n  a:\n    kind: geelark\nphones:\n  - id: x\n    provider: a\n  - {id: y, provider: a}\n";
        let idx = PositionIndex::build(src);
        assert_eq!(
            idx.value("/version"),
            Pos {
                line: 1,
                column: 10
            }
        );
        assert_eq!(idx.key("/providers/a/kind").line, 4);
        assert_eq!(idx.value("/phones/1/provider").line, 8);
        assert_eq!(idx.value("/phones/0/provider").line, 7);
        assert_eq!(idx.value("/phones/0/nope").line, 6);
        assert_eq!(idx.key("/phones/1/id"), Pos { line: 8, column: 6 });
    }
}
