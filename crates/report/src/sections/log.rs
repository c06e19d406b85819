//! "Ceremony log": the verifier's verdict on the log (chain, writer's form,
//! times, seal signatures) and the seal as recorded.

use keyceremony_log::verify::Status;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::context::{Ctx, pgp_words, role_title, str_at, value_text};
use crate::doc::{Block, Cell, Table, TableKind, cell, code, code_cell, fields, para, text};
use crate::files::FileKind;
use crate::{LOG_FILE, group4};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let report = &ctx.verify;
    let mut blocks = vec![
        Block::Heading(2, "Ceremony log".to_string()),
        para(
            "The log verified with keyceremony's verifier (every link of the hash chain, the \
             writer's exact form, times, and both seal signatures), without the auditor's \
             paper head and key: those two checks are the auditor's, under \"How to check\".",
        ),
    ];
    if report.status != Status::Sealed {
        findings.push(format!(
            "the log is not sealed as completed: {}{}",
            report.status,
            report
                .problem
                .as_ref()
                .map_or_else(String::new, |p| format!(" ({})", p.message))
        ));
        blocks.push(Block::Notice(vec![text(format!(
            "Log status: {}",
            report.status
        ))]));
    }
    let log_sha = match ctx.file(LOG_FILE).map(|f| &f.kind) {
        Some(FileKind::Regular { sha256, .. }) => hex::encode_upper(sha256),
        _ => "-".to_string(),
    };
    let mut rows = vec![
        ("File".to_string(), code_cell(LOG_FILE)),
        ("SHA-256 of the file".to_string(), code_cell(log_sha)),
        ("Status".to_string(), cell(report.status.to_string())),
        (
            "Entries verified".to_string(),
            cell(report.entries.to_string()),
        ),
    ];
    if let Some(problem) = &report.problem {
        rows.push((
            "Problem".to_string(),
            cell(format!("entry {}: {}", problem.entry, problem.message)),
        ));
    }
    if let Some(head) = report.head {
        let hex = hex::encode(head);
        rows.push(("Head".to_string(), code_cell(&hex)));
        rows.push(("Head, grouped".to_string(), code_cell(group4(&hex))));
        rows.push(("Head, PGP words".to_string(), cell(pgp_words(&head))));
    }
    blocks.push(fields(rows));
    blocks.extend(reopened(ctx));

    let Some(seal) = ctx.seal() else {
        blocks.push(para("The log has no seal."));
        return blocks;
    };
    blocks.push(Block::Heading(3, "Seal".to_string()));
    blocks.push(fields(vec![
        (
            "Outcome".to_string(),
            cell(str_at(&seal.data, "outcome").unwrap_or("-")),
        ),
        (
            "Entries sealed".to_string(),
            cell(seal.data.get("entries").map_or("-".to_string(), value_text)),
        ),
        (
            "Head (seal)".to_string(),
            code_cell(str_at(&seal.data, "head").unwrap_or("-")),
        ),
        ("Time".to_string(), cell(&seal.time)),
        (
            "Sealed by".to_string(),
            cell(format!(
                "{} ({})",
                ctx.name(&seal.actor.id),
                role_title(&seal.actor.role)
            )),
        ),
    ]));
    blocks.push(para("The statement both keys signed, exactly:"));
    let statement = str_at(&seal.data, "statement").unwrap_or("");
    blocks.push(Block::Code(statement.to_string()));
    blocks.push(witness_key(ctx, statement, findings));
    let signer_row = |key: &str| -> Vec<Cell> {
        let signature = seal.data.get(key).cloned().unwrap_or(Value::Null);
        let pem = str_at(&signature, "public_key").unwrap_or("");
        let key_sha = der::pem::decode_vec(pem.as_bytes()).map_or_else(
            |_| "-".to_string(),
            |(_, d)| hex::encode_upper(Sha256::digest(d)),
        );
        vec![
            cell(key),
            cell(str_at(&signature, "signer").map_or("-".to_string(), |s| ctx.name(s))),
            code_cell(key_sha),
            code_cell(str_at(&signature, "signature").unwrap_or("-")),
        ]
    };
    blocks.push(Block::Table(Table {
        header: [
            "Signature",
            "Signer",
            "Public key SHA-256 (DER)",
            "ECDSA P-384 signature (DER, hex, low s)",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![signer_row("ceremony_key"), signer_row("witness_key")],
        kind: TableKind::Data,
    }));
    blocks
}

/// The statement's value on its `name: ` line.
fn statement_line<'s>(statement: &'s str, name: &str) -> Option<&'s str> {
    statement
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

/// How the witness signed, and whether with the key the script pins.
fn witness_key(ctx: &Ctx<'_>, statement: &str, findings: &mut Vec<String>) -> Block {
    let signing = statement_line(statement, "witness-signing").unwrap_or("-");
    let signed_with = statement_line(statement, "witness-key-sha256").unwrap_or("-");
    let pinned = ctx
        .script()
        .and_then(|s| s.log.witness_key_sha256.as_deref())
        .map(str::to_ascii_uppercase);
    let verdict = match &pinned {
        Some(pin) if *pin == signed_with => "the key the script pins".to_string(),
        Some(pin) => {
            findings.push(format!(
                "the seal's witness key (SHA-256 {signed_with}) is not the one the script pins ({pin})"
            ));
            format!("NOT the key the script pins ({pin})")
        }
        None => "the script pins no key (a lab's stand-in token signed)".to_string(),
    };
    let how = match signing {
        "independent" => {
            "on the witness's own device (the statement from the backup media)".to_string()
        }
        "lab-token-on-terminal" => {
            if ctx.script().is_some_and(|s| !s.is_rehearsal()) {
                findings.push(
                    "a production ceremony's seal was signed with the witness's token on the CA terminal"
                        .to_string(),
                );
            }
            "LAB OPTION: with the witness's stand-in token on the CA terminal, its PIN typed there"
                .to_string()
        }
        other => other.to_string(),
    };
    fields(vec![
        ("The witness signed".to_string(), cell(how)),
        (
            "With the key".to_string(),
            vec![code(signed_with), text(format!(": {verdict}"))],
        ),
        (
            "Log-signing key".to_string(),
            cell(
                statement_line(statement, "log-signing-key-destroyed")
                    .map_or("-".to_string(), |when| format!("destroyed {when}")),
            ),
        ),
        (
            "Backup copy".to_string(),
            cell(statement_line(statement, "backup").unwrap_or("-")),
        ),
    ])
}

/// Checkpoints, and each time the interrupted log was reopened with what
/// proved it: the head the witness copied (compare it with the paper
/// script) and the checkpoints the token's log-signing key verified.
fn reopened(ctx: &Ctx<'_>) -> Vec<Block> {
    let checkpoints = ctx.of_kind("checkpoint").count();
    let reopened: Vec<_> = ctx.of_kind("log-reopened").collect();
    if checkpoints == 0 && reopened.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![
        Block::Heading(3, "Checkpoints and resumptions".to_string()),
        para(format!(
            "{checkpoints} checkpoint(s): the log-signing key signed the head at a step end \
             while the token was logged in, each verified with the recorded key. Each time \
             the interrupted log was reopened, the witness entered the last head copied onto \
             the paper script: compare it with the paper."
        )),
    ];
    if reopened.is_empty() {
        return blocks;
    }
    let proof = |e: &crate::context::LogEntry, key: &str| {
        e.data
            .get("proof")
            .and_then(|p| p.get(key))
            .filter(|v| !v.is_null())
            .map_or("-".to_string(), value_text)
    };
    blocks.push(Block::Table(Table {
        header: [
            "Reopened (entry)",
            "Witness's head",
            "Head after entry",
            "Last checkpoint",
            "Verified with the token",
        ]
        .map(String::from)
        .to_vec(),
        rows: reopened
            .iter()
            .map(|e| {
                let needed = proof(e, "token_check") == "true";
                let verified = ctx
                    .of_kind("log-key-verified")
                    .find(|v| v.seq > e.seq)
                    .map_or(
                        if needed { "MISSING" } else { "not needed" }.to_string(),
                        |v| format!("entry {}", v.seq),
                    );
                vec![
                    cell(e.seq.to_string()),
                    code_cell(proof(e, "witness_head")),
                    cell(proof(e, "witness_head_entry")),
                    cell(proof(e, "last_checkpoint_entry")),
                    cell(verified),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks
}
