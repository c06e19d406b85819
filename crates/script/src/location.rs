//! Maps a field path such as `acts[1].steps[0].witness` back to a line and
//! column, so that every validation error points into the file the operators
//! reviewed.

use std::fmt;

/// One-based line and column in the script.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, Clone)]
pub struct SourceMap {
    text: String,
    line_starts: Vec<usize>,
}

impl SourceMap {
    pub fn new(text: &str) -> SourceMap {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceMap {
            text: text.to_string(),
            line_starts,
        }
    }

    pub fn location_of(&self, offset: usize) -> Location {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset.min(self.text.len())]
            .chars()
            .count()
            + 1;
        Location { line, column }
    }

    /// Where a TOML parse error points; the default location when it names none.
    pub fn location_of_error(&self, error: &toml::de::Error) -> Location {
        error
            .span()
            .map(|span| self.location_of(span.start))
            .unwrap_or_default()
    }

    /// Location of the value at `path` (dotted keys, `[i]` indices); the
    /// nearest ancestor that exists when the value itself is absent.
    pub fn locate(&self, path: &str) -> Option<Location> {
        let doc = toml_edit::Document::parse(self.text.as_str()).ok()?;
        let mut best = None;
        let mut item: Option<Node<'_>> = Some(Node::Item(doc.as_item()));
        for segment in segments(path) {
            let Some(current) = item else { break };
            item = current.child(&segment);
            if let Some(span) = item.as_ref().and_then(Node::span) {
                best = Some(span.start);
            }
        }
        best.map(|offset| self.location_of(offset))
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        if !key.is_empty() {
            out.push(Segment::Key(key.to_string()));
        }
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

enum Node<'a> {
    Item(&'a toml_edit::Item),
    Value(&'a toml_edit::Value),
    Table(&'a toml_edit::Table),
}

impl<'a> Node<'a> {
    fn child(&self, segment: &Segment) -> Option<Node<'a>> {
        match (self, segment) {
            (Node::Item(toml_edit::Item::Table(t)), Segment::Key(k)) => t.get(k).map(Node::Item),
            (Node::Table(t), Segment::Key(k)) => t.get(k).map(Node::Item),
            (Node::Item(toml_edit::Item::ArrayOfTables(a)), Segment::Index(i)) => {
                a.get(*i).map(Node::Table)
            }
            (Node::Item(toml_edit::Item::Value(v)), _) => Node::Value(v).child(segment),
            (Node::Value(toml_edit::Value::InlineTable(t)), Segment::Key(k)) => {
                t.get(k).map(Node::Value)
            }
            (Node::Value(toml_edit::Value::Array(a)), Segment::Index(i)) => {
                a.get(*i).map(Node::Value)
            }
            _ => None,
        }
    }

    fn span(&self) -> Option<std::ops::Range<usize>> {
        match self {
            Node::Item(item) => item.span(),
            Node::Value(value) => value.span(),
            Node::Table(table) => table.span(),
        }
    }
}
