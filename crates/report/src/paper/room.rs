//! The parts of the paper script that keep dual control and custody in the
//! room: the performer's go before an irreversible HSM action, what a
//! recorded value is checked against, and who leaves and comes back.

use keyceremony_script::{Action, RecordField, Script, Secret, Step};

use crate::doc::{Block, Span, Table, TableKind, WriteIn, cell};

use super::{initials, person, secret_name};

/// The go before token initialisation, key generation or a signature: what
/// the room reads on the screen first, and the performer's initials.
pub(super) fn go_form(s: &Script, step: &Step) -> Option<Block> {
    let read = match &step.action {
        Action::InitToken if s.hsm.reinitialize => {
            "the token's serial and every object listed on it, compared with the abort record of the ceremony that left them; all are erased"
        }
        Action::InitToken => "the token's serial and the label it gets; it is erased",
        Action::GenerateKey { .. } => "the key's algorithm, label and CKA_ID",
        Action::SelfSign { .. } => {
            "the certificate to be signed (subject, issuer, serial, validity, every extension, the public key's SHA-256, compared with the one copied at the key generation) and the pre-signing lint"
        }
        Action::SignSubordinate { .. } => {
            "the certificate to be signed (subject, issuer, serial, validity, every extension, the key's SHA-256, the CSR's SHA-256 and what it asked for that is ignored) and the pre-signing lint"
        }
        Action::SignCross { .. } | Action::SignOcspResponder { .. } => {
            "the certificate to be signed (subject, issuer, serial, validity, every extension, the key's SHA-256, and the SHA-256 of the existing certificate or the CSR it is made from) and the pre-signing lint"
        }
        Action::SignCrl { .. } => {
            "the CRL to be signed (issuer, number, this and next update, every revoked certificate with its reason, the extensions) and the pre-signing lint"
        }
        Action::DestroyKey { .. } => {
            "the key to be destroyed (label, CKA_ID, public key SHA-256, compared with the ones the key generation recorded, its root certificate and its token) and whether the records hold a backup of it"
        }
        _ => return None,
    };
    Some(Block::Table(Table {
        header: ["Before the HSM acts", "Name", "Initials", "Time (UTC)"]
            .map(String::from)
            .to_vec(),
        rows: vec![vec![
            cell(format!(
                "The room has read on the screen {read}; the performer gives the go (G, then Y)"
            )),
            cell(person(s, &step.performer)),
            initials(),
            vec![Span::WriteIn(WriteIn::Short)],
        ]],
        kind: TableKind::Form,
    }))
}

/// A recorded value's label with what the room compares it with.
pub(super) fn field_label(field: &RecordField) -> String {
    match (&field.expect, &field.opens, &field.seals) {
        (Some(expected), _, _) => format!("{} (expected: {expected})", field.label),
        (None, Some(item), _) => format!(
            "{} (compare with the last serial written for the {item})",
            field.label
        ),
        (None, None, Some(item)) => format!("{} (a new bag for the {item})", field.label),
        (None, None, None) => field.label.clone(),
    }
}

/// Rows on the presence sheet.
const PRESENCE_ROWS: usize = 8;

/// The presence sheet: who left the room and came back, with the times
/// the tool shows (F6), initialled by the witness.
pub(super) fn presence_sheet() -> Vec<Block> {
    vec![
        Block::Heading(2, "Leaving and returning".to_string()),
        Block::Para(vec![crate::doc::text(
            "Anyone who leaves the room during the ceremony, and comes back, is written here \
             with the times the tool records (F6 in the TUI); a step does not begin while \
             its performer, its witness or the custodians it needs are out. Someone absent at \
             the check-in who comes in later shows their identity document first.",
        )]),
        Block::Table(Table {
            header: [
                "Participant",
                "Left (UTC)",
                "Why",
                "Came back (UTC)",
                "Witness (initials)",
            ]
            .map(String::from)
            .to_vec(),
            rows: (0..PRESENCE_ROWS)
                .map(|_| vec![Vec::new(), Vec::new(), Vec::new(), Vec::new(), initials()])
                .collect(),
            kind: TableKind::Sheet,
        }),
    ]
}

/// The forms of an activation: each secret's custodians who enter a share
/// and the bags they open and seal.
pub(super) fn activation_forms(s: &Script, step: &Step) -> Vec<Block> {
    // A backup or a restore logs the Security Officer in too; a
    // restore has the backup custodians bring the wrap key, and a
    // backup hands its shares to every backup custodian.
    let pin = |secret: Secret| (secret, s.activation.quorum(secret).threshold);
    let backup = s.activation.quorum(Secret::WrapKey);
    let entered = match &step.action {
        Action::BackupKey { .. } => vec![pin(Secret::SoPin), pin(Secret::UserPin)],
        Action::RestoreKey { .. } => vec![
            pin(Secret::WrapKey),
            pin(Secret::SoPin),
            pin(Secret::UserPin),
        ],
        _ => vec![pin(Secret::UserPin)],
    };
    let mut tables: Vec<Block> = entered
        .into_iter()
        .map(|(secret, count)| {
            share_bags(
                format!("Custodian who entered their {} share", secret_name(secret)),
                "Bag opened (serial, compared with the last written for the share)",
                count,
            )
        })
        .collect();
    if matches!(step.action, Action::BackupKey { .. }) {
        tables.push(share_bags(
            "Backup custodian who received a wrap key share".to_string(),
            "Share copied and typed back (initials)",
            backup.custodians.len() as u32,
        ));
    }
    tables
}

/// The form for `count` custodians' shares and their bags.
fn share_bags(who: String, first: &str, count: u32) -> Block {
    Block::Table(Table {
        header: vec![
            who,
            first.to_string(),
            "New bag the share goes into (serial)".to_string(),
            "Custodian (initials)".to_string(),
        ],
        rows: (0..count)
            .map(|_| vec![Vec::new(), Vec::new(), Vec::new(), initials()])
            .collect(),
        kind: TableKind::Form,
    })
}
