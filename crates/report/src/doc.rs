//! A small document model that both output formats render from. Each
//! section of the paper script or the report is built once, as blocks, and
//! only the rendering differs, so the HTML and the Markdown cannot drift
//! apart in content.
//!
//! Every string that comes from a script, a log or a certificate goes
//! through [`html_escape`] or [`markdown_escape`] here: builders never write
//! markup themselves.

use std::fmt::Write as _;

/// A run of inline content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Span {
    Text(String),
    Strong(String),
    /// Hashes, paths, URIs, commands: monospaced, never reflowed as prose.
    Code(String),
    /// A place to write by hand on the printed page.
    WriteIn(WriteIn),
}

/// What is to be written by hand: the shape of the space left for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteIn {
    /// A person's initials: a box.
    Initials,
    /// A short value: a time, a bag serial, a name.
    Short,
    /// 64 hex digits, in the 16 groups of four in which they are read aloud.
    Hex64,
}

/// A table cell; empty means an empty box.
pub(crate) type Cell = Vec<Span>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) kind: TableKind,
}

/// How a table's rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableKind {
    /// Values printed by the tool.
    Data,
    /// Rows filled in by hand: taller, so that handwriting fits.
    Form,
    /// Sentences written by hand (the exception sheet): taller still, with
    /// narrow number and step columns.
    Sheet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// Level 1 to 3.
    Heading(u8, String),
    Para(Vec<Span>),
    /// A loud notice (REHEARSAL, a finding): boxed, bold, never conveyed by
    /// colour alone.
    Notice(Vec<Span>),
    Table(Table),
    /// Preformatted text: commands to type, a signed statement.
    Code(String),
    List(Vec<Vec<Span>>),
    /// Kept on one printed page (a step of the paper script).
    Keep(Vec<Block>),
    /// What follows starts a new printed page.
    PageBreak,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Document {
    /// The HTML `<title>`; the visible title is the first heading block.
    pub(crate) title: String,
    /// Printed at the foot of every page with the page number, so that a
    /// loose printed page says which document it belongs to.
    pub(crate) footer: String,
    /// Printed at the head of every page (REHEARSAL).
    pub(crate) running_header: Option<String>,
    pub(crate) blocks: Vec<Block>,
}

pub(crate) fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

pub(crate) fn strong(s: impl Into<String>) -> Span {
    Span::Strong(s.into())
}

pub(crate) fn code(s: impl Into<String>) -> Span {
    Span::Code(s.into())
}

/// A cell holding plain text.
pub(crate) fn cell(s: impl Into<String>) -> Cell {
    vec![text(s)]
}

/// A cell holding monospaced text.
pub(crate) fn code_cell(s: impl Into<String>) -> Cell {
    vec![code(s)]
}

pub(crate) fn para(s: impl Into<String>) -> Block {
    Block::Para(vec![text(s)])
}

/// A two-column table of named values.
pub(crate) fn fields(rows: Vec<(String, Cell)>) -> Block {
    Block::Table(Table {
        header: vec!["Item".to_string(), "Value".to_string()],
        rows: rows
            .into_iter()
            .map(|(name, value)| vec![cell(name), value])
            .collect(),
        kind: TableKind::Data,
    })
}

/// Free text from a script (TOML multi-line strings wrap at arbitrary
/// columns): one paragraph per blank-line-separated block, lines joined.
pub(crate) fn paragraphs(source: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in source.lines().chain(std::iter::once("")) {
        let line = line.trim();
        if line.is_empty() {
            if !current.is_empty() {
                blocks.push(para(current.join(" ")));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    blocks
}

/// One line: control characters, line breaks included, become spaces, so
/// that a value cannot start a new Markdown block or table row. Spaces are
/// kept: they separate one span from the next.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

// ---------------------------------------------------------------- HTML

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CSS string literal: everything but letters, digits and spaces as a hex
/// escape, so that no value can close the string or the `<style>` element.
fn css_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in one_line(s).trim().chars() {
        if c.is_ascii_alphanumeric() || c == ' ' {
            out.push(c);
        } else {
            let _ = write!(out, "\\{:x} ", u32::from(c));
        }
    }
    out.push('"');
    out
}

/// The print style: black on white, borders instead of shading, no row
/// split across pages, table headers repeated on each page, and the page
/// size left to the printer (A4 or Letter).
const CSS: &str = r#"
:root { color-scheme: light; }
body { font-family: "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif;
       font-size: 10.5pt; line-height: 1.35; color: #000; background: #fff; margin: 0; }
main { max-width: 190mm; margin: 0 auto; padding: 10mm; }
h1 { font-size: 18pt; margin: 0 0 6pt; }
h2 { font-size: 14pt; margin: 16pt 0 6pt; border-bottom: 1.5pt solid #000;
     break-after: avoid; page-break-after: avoid; }
h3 { font-size: 12pt; margin: 12pt 0 4pt; break-after: avoid; page-break-after: avoid; }
p { margin: 4pt 0; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 8pt; }
th, td { border: 0.75pt solid #000; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { font-weight: bold; }
thead { display: table-header-group; }
tr, th, td { break-inside: avoid; page-break-inside: avoid; }
table.form td { height: 2.4em; }
table.sheet { table-layout: fixed; }
table.sheet td { height: 4.2em; }
table.sheet th:nth-child(1) { width: 2.5em; }
table.sheet th:nth-child(2) { width: 4em; }
table.sheet th:last-child { width: 6.5em; }
code, pre { font-family: "Liberation Mono", "DejaVu Sans Mono", monospace; font-size: 9pt; }
code.long { word-break: break-all; }
pre { white-space: pre-wrap; word-break: break-all; border: 0.75pt solid #000;
      padding: 4pt 6pt; break-inside: avoid; page-break-inside: avoid; }
.notice { border: 3pt double #000; padding: 4pt 8pt; margin: 8pt 0; font-weight: bold; }
.keep { break-inside: avoid; page-break-inside: avoid; }
.page-break { break-before: page; page-break-before: always; height: 0; }
.write { display: inline-block; min-width: 12em; height: 1.5em; border-bottom: 0.75pt solid #000; }
.initials { display: inline-block; width: 4em; height: 2em; border: 1pt solid #000; }
.hex64 .group { display: inline-block; width: 2.8em; height: 1.7em; margin: 0 0.4em 0.3em 0;
                border-bottom: 0.75pt solid #000; }
@media print { main { max-width: none; padding: 0; } }
"#;

/// Page margin boxes do not inherit the body's font.
const MARGIN_FONT: &str =
    "font-family: \"Liberation Sans\", \"DejaVu Sans\", Arial, sans-serif; font-size: 8pt;";

pub(crate) fn to_html(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", html_escape(&doc.title));
    out.push_str("<style>");
    out.push_str(CSS);
    // Page margin boxes: the footer and page numbers on every printed page.
    out.push_str("@page { size: auto; margin: 16mm 12mm 18mm; ");
    let _ = write!(
        out,
        "@bottom-left {{ content: {}; {MARGIN_FONT} }} ",
        css_string(&doc.footer)
    );
    let _ = write!(
        out,
        "@bottom-right {{ content: \"page \" counter(page) \" of \" counter(pages); {MARGIN_FONT} }} "
    );
    if let Some(header) = &doc.running_header {
        let _ = write!(
            out,
            "@top-center {{ content: {}; {MARGIN_FONT} font-weight: bold; font-size: 11pt; }} ",
            css_string(header)
        );
    }
    out.push_str("}\n</style>\n</head>\n<body>\n<main>\n");
    for block in &doc.blocks {
        html_block(&mut out, block);
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn html_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading(level, s) => {
            let level = (*level).clamp(1, 6);
            let _ = writeln!(out, "<h{level}>{}</h{level}>", html_escape(s));
        }
        Block::Para(spans) => {
            let _ = writeln!(out, "<p>{}</p>", html_spans(spans));
        }
        Block::Notice(spans) => {
            let _ = writeln!(
                out,
                "<div class=\"notice\" role=\"note\"><p>{}</p></div>",
                html_spans(spans)
            );
        }
        Block::Table(table) => {
            let class = match table.kind {
                TableKind::Data => "data",
                TableKind::Form => "form",
                TableKind::Sheet => "form sheet",
            };
            let _ = writeln!(out, "<table class=\"{class}\">\n<thead><tr>");
            for h in &table.header {
                let _ = write!(out, "<th>{}</th>", html_escape(h));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in &table.rows {
                out.push_str("<tr>");
                for c in row {
                    let _ = write!(out, "<td>{}</td>", html_spans(c));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n");
        }
        Block::Code(s) => {
            let _ = writeln!(out, "<pre><code>{}</code></pre>", html_escape(s));
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", html_spans(item));
            }
            out.push_str("</ul>\n");
        }
        Block::Keep(blocks) => {
            out.push_str("<section class=\"keep\">\n");
            for b in blocks {
                html_block(out, b);
            }
            out.push_str("</section>\n");
        }
        Block::PageBreak => out.push_str("<div class=\"page-break\"></div>\n"),
    }
}

/// Longer words get break opportunities, so that a table column holding
/// one (a URI in a recorded value) wraps instead of widening the page.
const LONG_WORD: usize = 24;

/// Escaped text with `<wbr>` after the separators of long words (and every
/// 16 characters of a run without any), so that the column's minimum width
/// stays that of ordinary words.
fn html_breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.chars().count() <= LONG_WORD {
            out.push_str(&html_escape(word));
            continue;
        }
        let mut run = 0;
        for c in word.chars() {
            out.push_str(&html_escape(&c.to_string()));
            run += 1;
            if ";/,&=:.".contains(c) || run >= 16 {
                out.push_str("<wbr>");
                run = 0;
            }
        }
    }
    out
}

fn html_spans(spans: &[Span]) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(s) => out.push_str(&html_breakable(s)),
            Span::Strong(s) => {
                let _ = write!(out, "<strong>{}</strong>", html_breakable(s));
            }
            // Hashes, URIs and signatures may break anywhere; a short id
            // never does, or a narrow column would split it.
            Span::Code(s) if s.chars().count() > LONG_WORD => {
                let _ = write!(out, "<code class=\"long\">{}</code>", html_escape(s));
            }
            Span::Code(s) => {
                let _ = write!(out, "<code>{}</code>", html_escape(s));
            }
            Span::WriteIn(WriteIn::Initials) => out.push_str("<span class=\"initials\"></span>"),
            Span::WriteIn(WriteIn::Short) => out.push_str("<span class=\"write\"></span>"),
            Span::WriteIn(WriteIn::Hex64) => {
                out.push_str("<span class=\"hex64\">");
                for _ in 0..16 {
                    out.push_str("<span class=\"group\"></span>");
                }
                out.push_str("</span>");
            }
        }
    }
    out
}

// ---------------------------------------------------------------- Markdown

/// CommonMark with GFM tables, no raw HTML: every value is escaped.
pub(crate) fn to_markdown(doc: &Document) -> String {
    let mut out = String::new();
    for block in &doc.blocks {
        md_block(&mut out, block);
    }
    out
}

fn md_block(out: &mut String, block: &Block) {
    match block {
        Block::Heading(level, s) => {
            let hashes = "#".repeat(usize::from((*level).clamp(1, 6)));
            let _ = writeln!(out, "{hashes} {}\n", markdown_escape(s, true));
        }
        Block::Para(spans) => {
            let _ = writeln!(out, "{}\n", md_spans(spans, false));
        }
        Block::Notice(spans) => {
            let _ = writeln!(out, "> {}\n", md_spans(spans, false));
        }
        Block::Table(table) => {
            let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
            out.push_str(&row(table
                .header
                .iter()
                .map(|h| markdown_escape(h, false))
                .collect()));
            out.push_str(&row(table
                .header
                .iter()
                .map(|_| "---".to_string())
                .collect()));
            for r in &table.rows {
                // An empty cell would otherwise leave "|  |", which is
                // valid; a space keeps the source lines easy to read.
                out.push_str(&row(r.iter().map(|c| md_spans(c, true)).collect()));
            }
            out.push('\n');
        }
        Block::Code(s) => {
            let fence = "`".repeat(3.max(longest_run(s, '`') + 1));
            let _ = writeln!(out, "{fence}text\n{}\n{fence}\n", s.trim_end_matches('\n'));
        }
        Block::List(items) => {
            for item in items {
                let _ = writeln!(out, "- {}", md_spans(item, false));
            }
            out.push('\n');
        }
        Block::Keep(blocks) => {
            for b in blocks {
                md_block(out, b);
            }
        }
        Block::PageBreak => out.push_str("---\n\n"),
    }
}

fn md_spans(spans: &[Span], in_table: bool) -> String {
    let mut out = String::new();
    for (i, span) in spans.iter().enumerate() {
        // Only the first span starts a line, where "-", "+" or "1." would
        // open a list.
        let at_start = i == 0 && !in_table;
        match span {
            Span::Text(s) => out.push_str(&markdown_escape(s, at_start)),
            Span::Strong(s) => {
                // "** x**" would not be strong emphasis: the delimiters
                // must touch the text.
                let s = one_line(s);
                let s = s.trim();
                if !s.is_empty() {
                    let _ = write!(out, "**{}**", markdown_escape(s, false));
                }
            }
            Span::Code(s) => out.push_str(&md_code(s, in_table)),
            // In a table an empty cell is the box; the hex groups show how
            // to write the 64 digits so they can be compared four by four.
            Span::WriteIn(WriteIn::Initials | WriteIn::Short) => {}
            Span::WriteIn(WriteIn::Hex64) => out.push_str(&["____"; 16].join(" ")),
        }
    }
    out
}

fn longest_run(s: &str, c: char) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for x in s.chars() {
        if x == c {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// A code span whose fence is longer than any backtick run inside it. In a
/// table, `|` is escaped even inside code (GFM splits cells first).
fn md_code(s: &str, in_table: bool) -> String {
    let mut content = one_line(s).trim().to_string();
    if content.is_empty() {
        return String::new();
    }
    if in_table {
        content = content.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_run(&content, '`') + 1);
    if content.starts_with('`') || content.ends_with('`') {
        format!("{fence} {content} {fence}")
    } else {
        format!("{fence}{content}{fence}")
    }
}

/// Escapes text so that it renders as itself: every character that could
/// start markup is backslash-escaped (CommonMark allows a backslash before
/// any ASCII punctuation). `at_line_start`: the text begins a line, where
/// "-", "+", "=" or "1." would start a list or underline a heading.
pub(crate) fn markdown_escape(s: &str, at_line_start: bool) -> String {
    let s = one_line(s);
    // Indentation at the start of a line would make an indented code block.
    let s = if at_line_start { s.trim_start() } else { &s };
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#' | '!' => true,
            // An underscore between two letters or digits can neither open
            // nor close emphasis; leaving it keeps key names readable.
            '_' => {
                let before = i.checked_sub(1).and_then(|j| chars.get(j));
                let after = chars.get(i + 1);
                !matches!((before, after), (Some(b), Some(a)) if b.is_alphanumeric() && a.is_alphanumeric())
            }
            '-' | '+' | '=' => at_line_start && i == 0,
            '.' | ')' => at_line_start && i > 0 && chars[..i].iter().all(|d| d.is_ascii_digit()),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    /// The text pulldown-cmark sees, and whether it saw any markup.
    fn parsed(md: &str) -> (String, Vec<String>) {
        let mut text = String::new();
        let mut tags = Vec::new();
        for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
            match event {
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::Start(tag) => tags.push(format!("{tag:?}")),
                Event::Html(h) | Event::InlineHtml(h) => tags.push(format!("html {h}")),
                _ => {}
            }
        }
        (text, tags)
    }

    #[test]
    fn hostile_text_renders_as_itself_in_markdown() {
        let nasty = "1. *not* _emph_ <script>alert(1)</script> [link](http://x) `tick` | pipe \\ &amp; # h ~~s~~ ![i](x)";
        let md = to_markdown(&Document {
            title: String::new(),
            footer: String::new(),
            running_header: None,
            blocks: vec![para(nasty)],
        });
        let (text, tags) = parsed(&md);
        assert_eq!(text, nasty);
        assert_eq!(tags, vec!["Paragraph".to_string()], "{md}");
    }

    #[test]
    fn hostile_text_in_a_table_cell_stays_in_its_cell() {
        let table = Table {
            header: vec!["a|b".into(), "c".into()],
            rows: vec![vec![cell("x | y\nnew line"), code_cell("p|q`r")]],
            kind: TableKind::Data,
        };
        let md = to_markdown(&Document {
            title: String::new(),
            footer: String::new(),
            running_header: None,
            blocks: vec![Block::Table(table)],
        });
        let mut cells = Vec::new();
        let mut current = String::new();
        for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            match event {
                Event::Text(t) | Event::Code(t) => current.push_str(&t),
                Event::End(TagEnd::TableCell) => cells.push(std::mem::take(&mut current)),
                Event::Start(Tag::Table(aligns)) => assert_eq!(aligns.len(), 2),
                _ => {}
            }
        }
        assert_eq!(cells, ["a|b", "c", "x | y new line", "p|q`r"], "{md}");
    }

    #[test]
    fn html_escapes_everything() {
        let doc = Document {
            title: "</title><script>".into(),
            footer: "\"; } </style><script>".into(),
            running_header: Some("REHEARSAL".into()),
            blocks: vec![para("<b>&\"'"), Block::Code("</pre><script>".into())],
        };
        let html = to_html(&doc);
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("</style><"), "{html}");
        assert!(html.contains("&lt;b&gt;&amp;&quot;&#39;"));
    }

    #[test]
    fn intraword_underscores_are_left_alone() {
        assert_eq!(markdown_escape("module_path", false), "module_path");
        assert_eq!(markdown_escape("_x_", false), "\\_x\\_");
        assert_eq!(markdown_escape("12. x", true), "12\\. x");
        assert_eq!(markdown_escape("12. x", false), "12. x");
        assert_eq!(markdown_escape("- x", true), "\\- x");
    }

    #[test]
    fn script_text_becomes_paragraphs() {
        let blocks = paragraphs("one\ntwo\n\nthree\n");
        assert_eq!(blocks, vec![para("one two"), para("three")]);
    }
}
