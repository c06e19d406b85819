//! "Keys": each key pair generated in the HSM with the attributes read
//! back (CPS 6.1.1, 6.2.7), its public key file checked against the log, and
//! the log-signing key.

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cert;
use crate::context::{Ctx, LogEntry, public_key_pem_path, read_pem, str_at, value_text};
use crate::doc::{Block, Table, TableKind, cell, code, code_cell, fields, para, text};

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Keys".to_string()),
        para(
            "Each key pair generated in the HSM, with the attributes read back from the token \
             after generation (CPS 6.1.1, 6.2.7): the private key must be sensitive, never \
             extractable and generated on the token.",
        ),
    ];
    let generated: Vec<&LogEntry> = ctx.of_kind("key-generated").collect();
    if generated.is_empty() {
        blocks.push(para("The log records no key generation."));
    }
    for e in generated {
        let label = str_at(&e.data, "label").unwrap_or("-");
        blocks.push(Block::Heading(3, format!("Key {label}")));
        let pem_path = public_key_pem_path(label);
        let logged = str_at(&e.data, "public_key_sha256").unwrap_or("-");
        let (size, recomputed) = match read_pem(&ctx.dir.join(&pem_path), "PUBLIC KEY") {
            Ok(spki) => {
                let sha = hex::encode_upper(Sha256::digest(&spki));
                let verdict = if sha.eq_ignore_ascii_case(logged) {
                    "the same as the log records".to_string()
                } else {
                    findings.push(format!(
                        "{pem_path} has public key SHA-256 {sha}, but the log records {logged} for key '{label}'"
                    ));
                    "DIFFERENT from the log".to_string()
                };
                (
                    cell(cert::describe_spki(&spki)),
                    vec![code(sha), text(format!(": {verdict}"))],
                )
            }
            Err(error) => (
                cell(format!("{pem_path} cannot be read: {error}")),
                cell("-"),
            ),
        };
        let problems = attribute_problems(&e.data);
        let problems = if problems.is_empty() {
            "none".to_string()
        } else {
            let problems = problems.join("; ");
            findings.push(format!("key '{label}' has unsafe attributes: {problems}"));
            problems
        };
        blocks.push(fields(vec![
            (
                "PKCS#11 URI".to_string(),
                code_cell(str_at(&e.data, "uri").unwrap_or("-")),
            ),
            (
                "Algorithm".to_string(),
                cell(str_at(&e.data, "algorithm").unwrap_or("-")),
            ),
            (format!("Size (from {pem_path})"), size),
            (
                "CKA_ID".to_string(),
                code_cell(str_at(&e.data, "id").unwrap_or("-")),
            ),
            ("Generated".to_string(), cell(&e.time)),
            (
                "HSM time (ms)".to_string(),
                cell(e.data.get("hsm_ms").map_or("-".to_string(), value_text)),
            ),
            ("Public key SHA-256 (log)".to_string(), code_cell(logged)),
            (format!("SHA-256 of {pem_path}'s key"), recomputed),
            (
                "CKA_MODIFIABLE and CKA_COPYABLE false".to_string(),
                cell(match e.data.get("attribute_lock") {
                    Some(Value::String(applied)) => applied.clone(),
                    Some(Value::Object(refused)) => format!(
                        "refused by the module ({})",
                        refused
                            .values()
                            .map(value_text)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    _ => "not recorded".to_string(),
                }),
            ),
            ("Attribute problems".to_string(), cell(problems)),
            (
                "Made for backup (CPS 6.2.4)".to_string(),
                cell(match e.data.get("backup") {
                    Some(Value::Bool(true)) => {
                        "yes: sensitive, extractable only wrapped by a trusted key (CKA_WRAP_WITH_TRUSTED); never-extractable false"
                    }
                    _ => "no: it never leaves the token",
                }),
            ),
        ]));
        blocks.push(attributes_table(&e.data));
    }
    for e in ctx.of_kind("key-refused") {
        let label = str_at(&e.data, "label").unwrap_or("-");
        let reason = str_at(&e.data, "reason").unwrap_or("-");
        findings.push(format!(
            "key '{label}' was refused (entry {}: {reason}); it was never certified and remains live on the token",
            e.seq
        ));
    }
    blocks.extend(keys_left(ctx, findings));
    blocks.extend(backed_up(ctx));
    blocks.extend(destroyed(ctx));
    if let Some(e) = ctx.of_kind("log-signing-key").next() {
        blocks.push(Block::Heading(3, "Log-signing key".to_string()));
        let pem = str_at(&e.data, "public_key").unwrap_or("");
        let (size, sha) = match der::pem::decode_vec(pem.as_bytes()) {
            Ok((_, spki)) => (
                cert::describe_spki(&spki),
                hex::encode_upper(Sha256::digest(&spki)),
            ),
            Err(_) => ("unreadable".to_string(), "-".to_string()),
        };
        blocks.push(fields(vec![
            (
                "PKCS#11 URI".to_string(),
                code_cell(str_at(&e.data, "uri").unwrap_or("-")),
            ),
            ("Key".to_string(), cell(size)),
            (
                "Recorded".to_string(),
                cell(format!("entry {}, {}", e.seq, e.time)),
            ),
            (
                "Public key SHA-256 (log)".to_string(),
                code_cell(str_at(&e.data, "public_key_sha256").unwrap_or("-")),
            ),
            ("SHA-256 of the logged key".to_string(), code_cell(sha)),
        ]));
    }
    blocks
}

/// Each root key a backup-key step backed up (CPS 6.2.4): the wrapped key
/// on the media, its wrap key's split, and who took part.
fn backed_up(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for e in ctx.of_kind("key-backed-up") {
        let text_of = |field: &str| str_at(&e.data, field).unwrap_or("-").to_string();
        let people = |field: &str| {
            e.data
                .get(field)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(value_text).collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|| "-".to_string())
        };
        blocks.push(Block::Heading(
            3,
            format!("Key {} backed up", text_of("label")),
        ));
        blocks.push(fields(vec![
            ("Public key SHA-256".to_string(), code_cell(text_of("public_key_sha256"))),
            (
                "Wrapped key (RFC 5649)".to_string(),
                cell(format!(
                    "{} bytes under {} ({}), SHA-256 {}",
                    e.data.get("bytes").map_or("-".to_string(), value_text),
                    text_of("mechanism"),
                    text_of("mechanism_code"),
                    text_of("blob_sha256")
                )),
            ),
            ("On the backup media".to_string(), code_cell(text_of("media_path"))),
            ("In the output folder".to_string(), code_cell(text_of("output_path"))),
            (
                "Wrap key".to_string(),
                cell(format!(
                    "from the token's generator, imported as trusted by the Security Officer ({}), destroyed after the wrap; split {}, check value {}",
                    text_of("wrap_key_route"),
                    text_of("wrap_key_split"),
                    text_of("wrap_key_check")
                )),
            ),
            ("Backup custodians".to_string(), cell(people("backup_custodians"))),
            (
                "Activated by".to_string(),
                cell(format!(
                    "the SO-PIN custodians {}, then the user-PIN custodians {}",
                    people("so_custodians"),
                    people("user_custodians")
                )),
            ),
            (
                "The key's attributes".to_string(),
                cell("sensitive, extractable only wrapped by a trusted key; never-extractable false: a copy restored from this backup is told from the original by CKA_LOCAL false"),
            ),
            ("Backed up".to_string(), cell(format!("entry {}, {}", e.seq, e.time))),
        ]));
    }
    blocks
}

/// Each root key a destroy-key step destroyed (CPS 6.2.10): the proof that
/// it was the certified key, who destroyed it, and the search that found
/// nothing left.
fn destroyed(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = Vec::new();
    for e in ctx.of_kind("key-destroyed") {
        let label = str_at(&e.data, "label").unwrap_or("-");
        let proof = ctx
            .of_kind("key-destruction-requested")
            .filter(|r| str_at(&r.data, "label") == Some(label))
            .last();
        let people = |data: &Value, field: &str| {
            data.get(field)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(value_text).collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|| "-".to_string())
        };
        let scope = match str_at(&e.data, "scope") {
            Some("key") => "the key itself: the records held no backup of it",
            Some("copy") => "this copy: the records hold a backup of the key",
            _ => "-",
        };
        blocks.push(Block::Heading(3, format!("Key {label} destroyed")));
        let mut rows = vec![
            (
                "CKA_ID".to_string(),
                code_cell(str_at(&e.data, "id").unwrap_or("-")),
            ),
            (
                "Public key SHA-256".to_string(),
                code_cell(str_at(&e.data, "public_key_sha256").unwrap_or("-")),
            ),
            (
                "Token".to_string(),
                cell(format!(
                    "'{}', serial {}",
                    str_at(&e.data, "token_label").unwrap_or("-"),
                    str_at(&e.data, "token_serial").unwrap_or("-")
                )),
            ),
            ("What was destroyed".to_string(), cell(scope)),
            (
                "Destroyed".to_string(),
                cell(format!("entry {}, {}", e.seq, e.time)),
            ),
            (
                "Activated by (custodians)".to_string(),
                cell(people(&e.data, "destroyed_by")),
            ),
            (
                "Performer, witness".to_string(),
                cell(format!(
                    "{}, {}",
                    str_at(&e.data, "performer").unwrap_or("-"),
                    str_at(&e.data, "witness").unwrap_or("-")
                )),
            ),
        ];
        rows.extend(match str_at(&e.data, "by") {
            Some("token-reinitialization") => vec![
                (
                    "How".to_string(),
                    cell(format!(
                        "the token was re-initialised (C_InitToken) with the SO PIN of the custodians above; before, a user session the shares of {} activated listed the key on it",
                        people(&e.data, "listed_by")
                    )),
                ),
                (
                    "Searched for afterwards".to_string(),
                    cell("a user session with the token's new PIN: no object at all"),
                ),
            ],
            _ => vec![
                (
                    "Proof it was the certified key".to_string(),
                    cell(proof.map_or(
                        "not recorded".to_string(),
                        |r| format!(
                            "entry {}: it signed challenge {} from the token, verified with the root certificate's key",
                            r.seq,
                            str_at(&r.data, "challenge").unwrap_or("-")
                        ),
                    )),
                ),
                (
                    "Searched for afterwards".to_string(),
                    cell("by CKA_LABEL and by CKA_ID: nothing found"),
                ),
            ],
        });
        blocks.push(fields(rows));
    }
    blocks
}

/// The keys the last abort record lists as left on the token: an abort
/// destroys no key, so each remains live there until a destroy-key
/// ceremony destroys it.
fn keys_left(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let Some(abort) = ctx
        .of_kind("abort")
        .filter(|e| e.data.get("keys_left_on_token").is_some())
        .last()
    else {
        return Vec::new();
    };
    let left = abort
        .data
        .get("keys_left_on_token")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut blocks = vec![
        Block::Heading(3, "Keys left on the token".to_string()),
        para(format!(
            "The ceremony was aborted (entry {}). An abort destroys no key: each key below \
             remains live on the token until it is destroyed under dual control (CPS 6.2.10): \
             a certified root key in a destroy-key ceremony (ceremony-scripts/destroy-p384.toml), \
             a key never certified with everything else on the token, in a re-initialisation \
             ceremony (ceremony-scripts/reinitialize-p384.toml; docs/operator-guide.md, \
             \"Re-initialising a token\").",
            abort.seq
        )),
    ];
    if left.is_empty() {
        blocks.push(para("The abort record lists no key on the token."));
        return blocks;
    }
    for key in &left {
        findings.push(format!(
            "key '{}' remains live on the token after the abort",
            str_at(key, "label").unwrap_or("-")
        ));
    }
    blocks.push(Block::Table(Table {
        header: ["Key", "CKA_ID", "What became of it"]
            .map(String::from)
            .to_vec(),
        rows: left
            .iter()
            .map(|key| {
                vec![
                    code_cell(str_at(key, "label").unwrap_or("-")),
                    code_cell(str_at(key, "id").unwrap_or("-")),
                    cell(str_at(key, "state").unwrap_or("-")),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks
}

/// What CPS 6.1.1 and 6.2.7 require of a root key's private half, as the
/// key-generated entry records it read back: the report checks the values
/// itself rather than only repeating the problems the tool recorded.
const REQUIRED: [(&str, bool, &str); 14] = [
    ("token", true, "stored on the token"),
    ("private", true, "readable only after login"),
    ("sensitive", true, "sensitive"),
    ("always_sensitive", true, "sensitive since it was created"),
    ("extractable", false, "extractable"),
    ("never_extractable", true, "never extractable"),
    ("local", true, "generated on the token"),
    ("sign", true, "usable for signing"),
    ("decrypt", false, "usable for decryption"),
    ("unwrap", false, "usable for unwrapping keys"),
    ("derive", false, "usable for key derivation"),
    (
        "always_authenticate",
        true,
        "protected by an activation for every signature",
    ),
    (
        "modifiable",
        false,
        "changeable (its attributes can be set again)",
    ),
    (
        "copyable",
        false,
        "copyable (C_CopyObject makes another with other attributes)",
    ),
];

/// The problems the tool recorded, and every attribute read back that is
/// not what the CPS requires; an attribute the module does not report
/// (null) is none.
fn attribute_problems(data: &Value) -> Vec<String> {
    let mut problems: Vec<String> = match data.get("problems") {
        Some(Value::Array(list)) => list.iter().map(value_text).collect(),
        Some(other) => vec![value_text(other)],
        None => Vec::new(),
    };
    let read_back = data.get("private_attributes");
    // A key made for backup is extractable, only under a trusted key.
    let backup = data.get("backup") == Some(&Value::Bool(true));
    let backup_rules = [("wrap_with_trusted", true, "wrapped only by a trusted key")];
    let rules = REQUIRED
        .into_iter()
        .map(|(name, required, meaning)| match (backup, name) {
            (true, "extractable" | "never_extractable") => (name, !required, meaning),
            _ => (name, required, meaning),
        })
        .chain(backup_rules.into_iter().filter(|_| backup));
    for (name, required, meaning) in rules {
        let attribute = format!("CKA_{}", name.to_ascii_uppercase());
        let Some(actual) = read_back.and_then(|a| a.get(name)).and_then(Value::as_bool) else {
            continue;
        };
        if actual != required
            && !problems
                .iter()
                .any(|p| p.starts_with(&format!("{attribute} is")))
        {
            let (is, must) = if actual {
                ("is", "must not be")
            } else {
                ("is not", "must be")
            };
            problems.push(format!(
                "{attribute} is {actual}: the private key {is} {meaning} but {must}"
            ));
        }
    }
    problems
}

fn attributes_table(data: &Value) -> Block {
    let object = |key: &str| {
        data.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let private = object("private_attributes");
    let public = object("public_attributes");
    let names: BTreeSet<&String> = private.keys().chain(public.keys()).collect();
    let show = |v: Option<&Value>| cell(v.map_or("-".to_string(), value_text));
    Block::Table(Table {
        header: ["Attribute (read back)", "Private key", "Public key"]
            .map(String::from)
            .to_vec(),
        rows: names
            .into_iter()
            .map(|name| {
                vec![
                    code_cell(format!("CKA_{}", name.to_ascii_uppercase())),
                    show(private.get(name)),
                    show(public.get(name)),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    })
}
