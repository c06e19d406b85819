//! "Certificates": each `certs/<label>.der` parsed from the folder, its
//! fingerprints (CPS 8.6), and checked against the public key file, its
//! `.pem`, `fingerprints.txt` and the log.

use std::collections::BTreeMap;

use crate::cert::{self, CertFacts};
use crate::context::{Ctx, pgp_words, public_key_pem_path, read_pem, str_at};
use crate::doc::{Block, Table, TableKind, cell, code_cell, fields, para, strong};
use crate::{FINGERPRINTS, Known, group4};

/// `label -> (SHA256, SHA1)` from fingerprints.txt.
fn fingerprints_file(ctx: &Ctx<'_>) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut map: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(ctx.dir.join(FINGERPRINTS)) {
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [label, algorithm, hex] = parts.as_slice() {
                map.entry((*label).to_string())
                    .or_default()
                    .insert((*algorithm).to_string(), (*hex).to_string());
            }
        }
    }
    map
}

pub(crate) fn section(ctx: &Ctx<'_>, known: &Known, findings: &mut Vec<String>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "Certificates".to_string()),
        para(
            "Each certificate file, parsed from the folder. The SHA-256 fingerprint is given \
             upper case without colons (CPS 8.6), in groups of four for comparison on paper, \
             and as PGP words for reading aloud.",
        ),
    ];
    let fingerprints = fingerprints_file(ctx);
    let labels: Vec<(String, String)> = ctx
        .certificate_files()
        .map(|(label, path)| (label, path.to_string()))
        .collect();
    if labels.is_empty() {
        blocks.push(para("The folder holds no certificate."));
    }
    let completed = ctx
        .seal()
        .and_then(|e| str_at(&e.data, "outcome"))
        .is_some_and(|o| o == "completed");
    if let Some(script) = ctx.script()
        && completed
    {
        for spec in &script.certificates {
            if !labels.iter().any(|(l, _)| *l == spec.key) {
                findings.push(format!(
                    "the script's certificate of '{}' is not in the folder (certs/{}.der)",
                    spec.key, spec.key
                ));
            }
        }
    }
    for (label, path) in labels {
        blocks.push(Block::Heading(3, format!("Certificate {label}")));
        let der = match std::fs::read(ctx.dir.join(&path)) {
            Ok(der) => der,
            Err(e) => {
                findings.push(format!("{path} cannot be read: {e}"));
                blocks.push(para(format!("{path} cannot be read: {e}")));
                continue;
            }
        };
        let facts = match cert::inspect(&der) {
            Ok(facts) => facts,
            Err(e) => {
                findings.push(format!("{path} is not a certificate: {e}"));
                blocks.push(para(format!("{path} is not a certificate: {e}")));
                continue;
            }
        };
        blocks.extend(certificate_blocks(ctx, &label, &path, &der, &facts));
        blocks.push(certificate_checks(
            ctx,
            known,
            &label,
            &der,
            &facts,
            fingerprints.get(&label),
            findings,
        ));
    }
    blocks
}

fn certificate_blocks(
    ctx: &Ctx<'_>,
    label: &str,
    path: &str,
    der: &[u8],
    facts: &CertFacts,
) -> Vec<Block> {
    let sha256 = keyceremony_x509::fingerprint_hex(&facts.sha256);
    let mut blocks = vec![fields(vec![
        ("File".to_string(), code_cell(path)),
        ("Size".to_string(), cell(format!("{} bytes", der.len()))),
        ("Subject".to_string(), cell(&facts.subject)),
        ("Issuer".to_string(), cell(&facts.issuer)),
        ("Serial number".to_string(), code_cell(&facts.serial_hex)),
        ("Not before".to_string(), cell(&facts.not_before)),
        ("Not after".to_string(), cell(&facts.not_after)),
        ("Validity".to_string(), cell(&facts.validity)),
        (
            "Signature algorithm".to_string(),
            cell(&facts.signature_algorithm),
        ),
        ("Public key".to_string(), cell(&facts.public_key)),
        (
            "Signed in the ceremony".to_string(),
            cell(
                ctx.of_kind("signed")
                    .find(|e| str_at(&e.data, "key") == Some(label))
                    .map_or("not in the log", |e| e.time.as_str()),
            ),
        ),
    ])];
    blocks.push(Block::Table(Table {
        header: ["Extension", "OID", "Critical", "Value"]
            .map(String::from)
            .to_vec(),
        rows: facts
            .extensions
            .iter()
            .map(|x| {
                vec![
                    cell(&x.name),
                    code_cell(&x.oid),
                    cell(if x.critical { "yes" } else { "no" }),
                    cell(&x.value),
                ]
            })
            .collect(),
        kind: TableKind::Data,
    }));
    blocks.push(fields(vec![
        ("SHA-256 (CPS 8.6)".to_string(), code_cell(&sha256)),
        ("SHA-256, grouped".to_string(), code_cell(group4(&sha256))),
        (
            "SHA-256, PGP words".to_string(),
            cell(pgp_words(&facts.sha256)),
        ),
        (
            "SHA-1".to_string(),
            code_cell(keyceremony_x509::fingerprint_hex(&facts.sha1)),
        ),
    ]));
    blocks.push(para(format!(
        "The certificate in PEM, from {path} (certs/{label}.pem holds the same when the check \
         below says so), to copy into a trust store or a BR audit's appendix:"
    )));
    blocks.push(Block::Code(keyceremony_x509::pem_encode(
        "CERTIFICATE",
        der,
    )));
    blocks
}

/// The certificate against everything else that describes it.
fn certificate_checks(
    ctx: &Ctx<'_>,
    known: &Known,
    label: &str,
    der: &[u8],
    facts: &CertFacts,
    fingerprints: Option<&BTreeMap<String, String>>,
    findings: &mut Vec<String>,
) -> Block {
    let sha256 = keyceremony_x509::fingerprint_hex(&facts.sha256);
    let sha1 = keyceremony_x509::fingerprint_hex(&facts.sha1);
    let mut checks: Vec<(String, Result<String, String>)> = Vec::new();

    let pem_path = public_key_pem_path(label);
    let issued = super::issued::verify_issued(ctx, label, der);
    let verified = issued.unwrap_or_else(|| read_pem(&ctx.dir.join(&pem_path), "PUBLIC KEY").and_then(|spki| {
        // The run's own verification of these bytes stands for them; other
        // bytes (a folder reported on its own, or edited) are verified here.
        let taken_up = known.roots.iter().find_map(|root| root.of(der, &spki));
        match (taken_up, known.keys.iter().find(|key| key.spki_der() == spki)) {
            (Some(summary), _) => Ok(summary.clone()),
            (None, Some(key)) => keyceremony_x509::verify_root_of(der, key),
            (None, None) => keyceremony_x509::verify_root(der, &spki),
        }
        .map(|summary| {
                format!(
                    "signature verifies with the key in {pem_path}; canonical DER; root profile; {} days",
                    summary.validity_days
                )
            })
            .map_err(|e| e.to_string())
    }));
    checks.push(("Software verification".to_string(), verified));

    let cert_pem = format!("certs/{label}.pem");
    checks.push((
        cert_pem.clone(),
        read_pem(&ctx.dir.join(&cert_pem), "CERTIFICATE").and_then(|pem_der| {
            if pem_der == der {
                Ok("holds the same certificate".to_string())
            } else {
                Err("holds a different certificate".to_string())
            }
        }),
    ));

    let listed = |algorithm: &str, expected: &str| match fingerprints.and_then(|f| f.get(algorithm))
    {
        Some(hex) if hex.eq_ignore_ascii_case(expected) => Ok(format!("{algorithm} line matches")),
        Some(hex) => Err(format!("{algorithm} line says {hex}")),
        None => Err(format!("no {algorithm} line for '{label}'")),
    };
    checks.push((format!("{FINGERPRINTS} SHA256"), listed("SHA256", &sha256)));
    checks.push((format!("{FINGERPRINTS} SHA1"), listed("SHA1", &sha1)));

    let logged = ctx
        .of_kind("certificate-verified")
        .find(|e| str_at(&e.data, "key") == Some(label));
    checks.push((
        "Log (certificate-verified)".to_string(),
        match logged.and_then(|e| str_at(&e.data, "sha256")) {
            Some(hex) if hex.eq_ignore_ascii_case(&sha256) => Ok(format!(
                "entry {} records the same SHA-256",
                logged.map_or(0, |e| e.seq)
            )),
            Some(hex) => Err(format!("the log records SHA-256 {hex}")),
            None => Err("the log records no verification of this certificate".to_string()),
        },
    ));

    let rows = checks
        .into_iter()
        .map(|(what, result)| match result {
            Ok(detail) => vec![cell(what), cell("OK"), cell(detail)],
            Err(detail) => {
                findings.push(format!("certificate '{label}': {what}: {detail}"));
                vec![cell(what), vec![strong("FAILED")], cell(detail)]
            }
        })
        .collect();
    Block::Table(Table {
        header: ["Check", "Result", "Detail"].map(String::from).to_vec(),
        rows,
        kind: TableKind::Data,
    })
}
