//! The paper script: the Key Generation Script (CPS 6.1.1 item 1) the tool
//! runs, as a document the people in the room initial step by step. What the
//! tool shows on screen (fingerprints, bag serials, the head hash) is copied
//! onto it by hand, so that the paper and the log are two independent
//! records of the same ceremony.

use keyceremony_script::{
    Action, FieldFormat, LoadedScript, Participant, Script, Secret, Step, WitnessSigning,
};

use crate::doc::{
    Block, Cell, Document, Span, Table, TableKind, WriteIn, cell, code, code_cell, fields,
    paragraphs, strong, text,
};
use crate::group4;

mod later;
mod room;

/// Rows on the exception sheet: more than a ceremony should ever need.
const EXCEPTION_ROWS: usize = 10;
/// Rows for the heads of runs that stopped.
const STOP_ROWS: usize = 4;

/// The paper script of `script`, built once for both formats.
pub(crate) fn document(script: &LoadedScript) -> Document {
    let s = &script.script;
    let sha = script.sha256_hex();
    let mut blocks = vec![Block::Heading(
        1,
        format!("{}: {}", later::document_name(s), s.ceremony.name),
    )];
    if s.is_rehearsal() {
        blocks.push(rehearsal_notice());
    }
    blocks.extend(paragraphs(&s.ceremony.description));
    blocks.push(fields(vec![
        ("Ceremony id".to_string(), code_cell(&s.ceremony.id)),
        (
            "Mode".to_string(),
            cell(if s.is_rehearsal() {
                "REHEARSAL"
            } else {
                "production"
            }),
        ),
        (
            "Script file".to_string(),
            code_cell(script.path.display().to_string()),
        ),
        ("Script SHA-256".to_string(), code_cell(&sha)),
        (
            "Script SHA-256, grouped".to_string(),
            code_cell(group4(&sha)),
        ),
        (
            "HSM token".to_string(),
            vec![
                code(&s.hsm.token_label),
                text(if s.hsm.initialize {
                    " (initialised in this ceremony)"
                } else {
                    " (existing token)"
                }),
            ],
        ),
        ("Keys".to_string(), cell(keys_line(s))),
        ("Certificates".to_string(), cell(certificates_line(s))),
    ]));
    blocks.push(Block::Para(vec![
        strong("How to use this paper. "),
        text(
            "At the start, compare the script SHA-256 the tool shows with the one printed here. \
             At each step the performer and the witness write their initials and the time \
             (UTC, as the tool's log) in the boxes; values the tool shows or people read aloud \
             are copied onto the blank lines. Any departure from a step goes on the exception \
             sheet, with its row number written at the step. At the end every participant \
             completes the attestation.",
        ),
    ]));
    blocks.push(Block::Table(Table {
        header: vec!["Ceremony".to_string(), "Written during the ceremony".to_string()],
        rows: vec![
            vec![cell("Date (UTC)"), vec![Span::WriteIn(WriteIn::Short)]],
            vec![cell("Place"), vec![Span::WriteIn(WriteIn::Short)]],
            vec![cell("Start time (UTC)"), vec![Span::WriteIn(WriteIn::Short)]],
            vec![cell("End time (UTC)"), vec![Span::WriteIn(WriteIn::Short)]],
            vec![
                cell("The tool shows this script's SHA-256 at the start: witness's initials if it matches"),
                initials(),
            ],
        ],
        kind: TableKind::Form,
    }));
    blocks.push(Block::Heading(2, "Participants and roles".to_string()));
    blocks.push(participants_table(s));
    blocks.push(Block::Para(vec![text(format!(
        "Activation data (CPS 6.4.1, 6.2.2): the SO PIN is split {}; the user PIN {}. No one \
         ever sees a whole PIN.",
        quorum_line(s, Secret::SoPin),
        quorum_line(s, Secret::UserPin)
    ))]));
    blocks.extend(later::root_section(s));

    for act in &s.acts {
        // Each act on its own page, so that an act's pages can be handed
        // round and filed together.
        blocks.push(Block::PageBreak);
        blocks.push(Block::Heading(2, format!("Act {}: {}", act.id, act.title)));
        for step in &act.steps {
            blocks.push(step_block(s, step));
        }
        // The seal ends the last act with a head of its own.
        if !act.steps.iter().any(|step| step.action == Action::SealLog) {
            blocks.push(head_form(&format!("Log head at the end of act {}", act.id)));
        }
    }

    blocks.push(Block::PageBreak);
    blocks.push(Block::Heading(2, "Exception sheet".to_string()));
    blocks.push(Block::Para(vec![text(
        "Every departure from the script, however small, is written here as it happens, \
         numbered, and its number written at the step. The witness initials each row to accept \
         it; a row the witness does not accept stops the ceremony.",
    )]));
    blocks.push(Block::Table(Table {
        header: [
            "No.",
            "Step",
            "What happened",
            "Why",
            "What was done",
            "Witness accepts (initials)",
        ]
        .map(String::from)
        .to_vec(),
        rows: (1..=EXCEPTION_ROWS)
            .map(|n| {
                vec![
                    cell(n.to_string()),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    initials(),
                ]
            })
            .collect(),
        kind: TableKind::Sheet,
    }));

    blocks.push(Block::Heading(2, "Log heads when a run stopped".into()));
    blocks.push(Block::Para(vec![text(
        "When a run stops, the tool shows the log's head: the witness copies it here. On \
         restarting, the witness types the last head copied on this paper (here or at an act's \
         end): the tool goes on only from a log in which that head appears.",
    )]));
    blocks.push(Block::Table(Table {
        header: ["Step", "Entry", "Log head", "Witness (initials)"]
            .map(String::from)
            .to_vec(),
        rows: (0..STOP_ROWS)
            .map(|_| {
                vec![
                    Vec::new(),
                    Vec::new(),
                    vec![Span::WriteIn(WriteIn::Hex64)],
                    initials(),
                ]
            })
            .collect(),
        kind: TableKind::Sheet,
    }));
    blocks.extend(room::presence_sheet());

    blocks.push(Block::PageBreak);
    blocks.push(Block::Heading(2, "Attestation".to_string()));
    blocks.push(Block::Para(vec![text(
        "Each participant initials each statement they can make: that they were present \
         throughout, that the script was followed (with the departures on the exception sheet), \
         and that this paper record is true. Anyone who cannot make a statement leaves its box \
         empty and writes why under Disagreement.",
    )]));
    blocks.push(Block::Table(Table {
        header: [
            "Participant",
            "Role",
            "Present (initials)",
            "Script followed (initials)",
            "Record true (initials)",
            "Disagreement",
            "Date and time (UTC)",
        ]
        .map(String::from)
        .to_vec(),
        rows: s
            .participants
            .iter()
            .map(|p| {
                vec![
                    cell(&p.name),
                    cell(roles_line(p)),
                    initials(),
                    initials(),
                    initials(),
                    Vec::new(),
                    Vec::new(),
                ]
            })
            .collect(),
        kind: TableKind::Form,
    }));
    if s.is_rehearsal() {
        blocks.push(rehearsal_notice());
    }

    Document {
        title: format!("Paper script: {}", s.ceremony.name),
        footer: format!(
            "{} paper script, script SHA-256 {}",
            s.ceremony.id,
            sha.get(..16).unwrap_or(&sha)
        ),
        running_header: s
            .is_rehearsal()
            .then(|| "REHEARSAL: not a production ceremony".to_string()),
        blocks,
    }
}

/// The head the tool shows at an act's end, with its entry number, copied
/// by the witness: a resumed ceremony proves its log with the last one.
fn head_form(title: &str) -> Block {
    Block::Table(Table {
        header: vec![title.to_string(), "Written during the ceremony".to_string()],
        rows: vec![
            vec![cell("Entry"), vec![Span::WriteIn(WriteIn::Short)]],
            vec![cell("Log head"), vec![Span::WriteIn(WriteIn::Hex64)]],
            vec![cell("Witness's initials"), initials()],
        ],
        kind: TableKind::Form,
    })
}

/// A box for a person's initials.
fn initials() -> Cell {
    vec![Span::WriteIn(WriteIn::Initials)]
}

fn rehearsal_notice() -> Block {
    Block::Notice(vec![
        strong("REHEARSAL."),
        text(
            " This script runs against a lab token; nothing made with it is ever used as a CA key.",
        ),
    ])
}

fn keys_line(s: &Script) -> String {
    if s.keys.is_empty() {
        return "none".to_string();
    }
    s.keys
        .iter()
        .map(|k| format!("{} ({})", k.label, k.algorithm.as_str()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn certificates_line(s: &Script) -> String {
    if s.certificates.is_empty() {
        return "none".to_string();
    }
    s.certificates
        .iter()
        .map(|c| {
            format!(
                "CN={} (key {}, {} days)",
                c.subject.common_name, c.key, c.validity_days
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn roles_line(p: &Participant) -> String {
    p.roles
        .iter()
        .map(|r| r.title())
        .collect::<Vec<_>>()
        .join(", ")
}

fn secret_name(secret: Secret) -> &'static str {
    match secret {
        Secret::SoPin => "SO PIN",
        Secret::UserPin => "user PIN",
        Secret::WrapKey => "backup wrap key",
    }
}

fn quorum_line(s: &Script, secret: Secret) -> String {
    let quorum = s.activation.quorum(secret);
    let names: Vec<String> = quorum.custodians.iter().map(|id| person(s, id)).collect();
    format!(
        "{} of {} among {}",
        quorum.threshold,
        quorum.custodians.len(),
        names.join(", ")
    )
}

/// A participant's name, or the id itself when the script does not know it
/// (a validated script always does).
fn person(s: &Script, id: &str) -> String {
    s.participant(id)
        .map_or_else(|| id.to_string(), |p| p.name.clone())
}

/// The share a custodian holds of a secret: its 1-based place in the
/// quorum's list, which is how the engine numbers the shares it issues.
fn share_number(s: &Script, secret: Secret, id: &str) -> Option<usize> {
    s.activation
        .quorum(secret)
        .custodians
        .iter()
        .position(|c| c == id)
        .map(|i| i + 1)
}

fn participants_table(s: &Script) -> Block {
    Block::Table(Table {
        header: ["Id", "Name", "Roles", "Holds", "Specimen initials"]
            .map(String::from)
            .to_vec(),
        rows: s
            .participants
            .iter()
            .map(|p| {
                let holds: Vec<String> = Secret::ALL
                    .iter()
                    .filter_map(|&secret| {
                        share_number(s, secret, &p.id)
                            .map(|n| format!("share {n} of the {}", secret_name(secret)))
                    })
                    .collect();
                vec![
                    code_cell(&p.id),
                    cell(&p.name),
                    cell(roles_line(p)),
                    cell(if holds.is_empty() {
                        "-".to_string()
                    } else {
                        holds.join("; ")
                    }),
                    initials(),
                ]
            })
            .collect(),
        kind: TableKind::Form,
    })
}

fn action_line(action: &Action) -> String {
    match action {
        Action::Manual => "manual: done by people and confirmed by the witness".to_string(),
        Action::CheckIn => "check-in: the witness confirms each participant's identity".to_string(),
        Action::ClockCheck => {
            "clock-check: the terminal's UTC time against the reference clock".to_string()
        }
        Action::InitToken => {
            "init-token: the token is initialised and its PINs split among the custodians"
                .to_string()
        }
        Action::Login => "login: custodians' shares activate the token".to_string(),
        Action::RestoreKey { key } => format!(
            "restore-key: the backup custodians rebuild the wrap key, the SO imports it as trusted, the backup of '{key}' is unwrapped onto this token and proved with the root certificate's key"
        ),
        Action::BackupKey { key } => format!(
            "backup-key: the SO imports a trusted wrap key, the key pair '{key}' is wrapped with it for the backup media, the wrap key is split among the backup custodians and destroyed"
        ),
        Action::GenerateKey { key } => format!("generate-key: key pair '{key}' inside the HSM"),
        Action::SelfSign { certificate } => {
            format!("self-sign: the HSM signs the root certificate of '{certificate}'")
        }
        Action::Export { certificate } => {
            format!("export: certificate and public key of '{certificate}' written out")
        }
        Action::SignSubordinate { .. }
        | Action::SignCrl { .. }
        | Action::SignCross { .. }
        | Action::SignOcspResponder { .. }
        | Action::DestroyKey { .. } => later::action_line(action),
        Action::Logout => "logout: the token is deactivated".to_string(),
        Action::SealLog => "seal-log: the log-signing key and the witness sign the log".to_string(),
    }
}

/// One step: who, what, the values to copy, and the boxes to initial.
fn step_block(s: &Script, step: &Step) -> Block {
    let mut blocks = vec![Block::Heading(
        3,
        format!("Step {}: {}", step.id, step.title),
    )];
    blocks.push(fields(vec![
        (
            "Performer".to_string(),
            cell(participant_line(s, &step.performer)),
        ),
        (
            "Witness".to_string(),
            cell(participant_line(s, &step.witness)),
        ),
        (
            "Tool action".to_string(),
            cell(match &step.action {
                Action::InitToken if s.hsm.reinitialize => format!(
                    "init-token, re-initialising: the token's objects are listed with the shares of '{}', C_InitToken erases them all under its SO-PIN custodians, and the new PINs are split among the custodians",
                    s.activation.shares_from.as_deref().unwrap_or_default()
                ),
                action => action_line(action),
            }),
        ),
    ]));
    blocks.extend(paragraphs(&step.instructions));
    blocks.extend(room::go_form(s, step));
    blocks.extend(action_forms(s, step));
    let values = values_to_copy(s, step);
    if !values.is_empty() {
        blocks.push(Block::Table(Table {
            header: vec![
                "Value".to_string(),
                "Written during the ceremony".to_string(),
            ],
            rows: values,
            kind: TableKind::Form,
        }));
    }
    blocks.push(Block::Table(Table {
        header: ["Step ".to_string() + &step.id, "Name".to_string()]
            .into_iter()
            .chain(["Initials", "Time (UTC)", "Exception sheet row, if any"].map(String::from))
            .collect(),
        rows: vec![
            vec![
                cell("Performer"),
                cell(person(s, &step.performer)),
                initials(),
                Vec::new(),
                Vec::new(),
            ],
            vec![
                cell("Witness"),
                cell(person(s, &step.witness)),
                initials(),
                Vec::new(),
                Vec::new(),
            ],
        ],
        kind: TableKind::Form,
    }));
    Block::Keep(blocks)
}

fn participant_line(s: &Script, id: &str) -> String {
    match s.participant(id) {
        Some(p) => format!("{} ({})", p.name, roles_line(p)),
        None => id.to_string(),
    }
}

/// Record fields and what the tool shows at HSM steps, each with space for
/// the value as read in the room.
fn values_to_copy(s: &Script, step: &Step) -> Vec<Vec<Cell>> {
    let mut rows = Vec::new();
    let hex = |label: String| vec![cell(label), vec![Span::WriteIn(WriteIn::Hex64)]];
    match &step.action {
        Action::ClockCheck => {
            for label in [
                "Reference clock time the witness typed, and marked with Enter when the reference clock showed it (UTC)",
                "Difference the tool shows, terminal minus reference (s)",
                "Beyond the policy's limit: exception sheet row of the witness's decision",
            ] {
                rows.push(vec![cell(label), vec![Span::WriteIn(WriteIn::Short)]]);
            }
        }
        Action::GenerateKey { key } => {
            rows.push(hex(format!("SHA-256 of the public key of '{key}'")));
        }
        Action::SelfSign { certificate } | Action::Export { certificate } => {
            rows.push(hex(format!(
                "SHA-256 fingerprint of the certificate of '{certificate}'"
            )));
        }
        Action::SignSubordinate { .. }
        | Action::SignCrl { .. }
        | Action::SignCross { .. }
        | Action::SignOcspResponder { .. }
        | Action::DestroyKey { .. } => rows.push(hex(later::value_label(&step.action))),
        Action::SealLog => {
            if s.log.witness_signing == WitnessSigning::Independent {
                // What the witness compares on their own device before they
                // sign: the statement the screen names, and their own key.
                rows.push(hex(
                    "SHA-256 of the seal statement, as the screen shows it (the witness's device computes the same before they sign)"
                        .to_string(),
                ));
                if let Some(pinned) = &s.log.witness_key_sha256 {
                    rows.push(vec![
                        cell(
                            "SHA-256 of the witness's key the script pins: the witness checks their device's key is this one"
                                .to_string(),
                        ),
                        cell(group4(&pinned.to_ascii_uppercase())),
                    ]);
                }
            }
            rows.push(hex("Head hash of the sealed log".to_string()));
        }
        _ => {}
    }
    for field in &step.record {
        // A field that records a hash gets the grouped boxes, so that it can
        // be compared four digits at a time.
        let label = room::field_label(field);
        if field.format() == Some(FieldFormat::Sha256) || field.name.ends_with("sha256") {
            rows.push(hex(label));
        } else {
            rows.push(vec![cell(label), vec![Span::WriteIn(WriteIn::Short)]]);
        }
    }
    rows
}

/// The forms an action needs besides single values: one row per person.
fn action_forms(s: &Script, step: &Step) -> Vec<Block> {
    match &step.action {
        Action::CheckIn => vec![Block::Table(Table {
            header: [
                "Participant",
                "Role",
                "Identity document checked, or why absent",
                "Participant (initials)",
                "Witness (initials; the log examiner for the witness)",
            ]
            .map(String::from)
            .to_vec(),
            rows: s
                .participants
                .iter()
                .map(|p| {
                    vec![
                        cell(&p.name),
                        cell(roles_line(p)),
                        Vec::new(),
                        initials(),
                        initials(),
                    ]
                })
                .collect(),
            kind: TableKind::Form,
        })],
        Action::InitToken => {
            // In the order the tool hands the shares out: custodian by
            // custodian, each with the SO PIN share first.
            let mut rows = Vec::new();
            for p in &s.participants {
                for secret in Secret::ALL {
                    if let Some(n) = share_number(s, secret, &p.id) {
                        let total = s.activation.quorum(secret).custodians.len();
                        rows.push(vec![
                            cell(&p.name),
                            cell(format!("{} share {n} of {total}", secret_name(secret))),
                            initials(),
                            Vec::new(),
                            initials(),
                        ]);
                    }
                }
            }
            vec![Block::Table(Table {
                header: [
                    "Custodian",
                    "Share",
                    "Typed back from the paper, matched (custodian's initials)",
                    "Bag serial",
                    "Custodian (initials)",
                ]
                .map(String::from)
                .to_vec(),
                rows,
                kind: TableKind::Form,
            })]
        }
        _ if step.action.activates() => room::activation_forms(s, step),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use keyceremony_script::LoadedScript;
    use pulldown_cmark::{Event, Options, Parser};

    use crate::{Format, paper_script};

    const SHIPPED: &str = include_str!("../../../ceremony-scripts/root-rsa4096.toml");
    const HOSTILE: &str = "Ada <b>&amp; *Okafor*</b> | `x` [y](z)";

    fn hostile_script() -> LoadedScript {
        let text = SHIPPED.replace("Ada Okafor", HOSTILE);
        LoadedScript::parse(Path::new("hostile.toml"), text).expect("the edited script parses")
    }

    #[test]
    fn names_from_the_script_are_escaped_in_html() {
        let html = paper_script(&hostile_script(), Format::Html);
        assert!(
            !html.contains("<b>"),
            "markup from the script reached the HTML"
        );
        assert!(html.contains("Ada &lt;b&gt;&amp;amp; *Okafor*&lt;/b&gt; | `x` [y](z)"));
    }

    #[test]
    fn names_from_the_script_render_as_themselves_in_markdown() {
        let md = paper_script(&hostile_script(), Format::Markdown);
        let mut texts = Vec::new();
        let mut current = String::new();
        for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            match event {
                Event::Text(t) | Event::Code(t) => current.push_str(&t),
                Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML {h:?}"),
                _ => texts.push(std::mem::take(&mut current)),
            }
        }
        // The participants table's Name cell, among others.
        assert!(texts.iter().any(|t| t == HOSTILE), "{md}");
    }
}
