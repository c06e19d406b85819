//! "CRLs": each `crls/<id>.crl` the root signed in the ceremony, verified
//! from the folder against the root certificate the log names (its copy of
//! the ceremony's input), with what it says and its SHA-256, checked
//! against its `.crl.pem`, `fingerprints.txt` and the log.

use crate::context::{Ctx, read_pem, str_at};
use crate::doc::{Block, Table, TableKind, cell, code_cell, fields, para, strong};
use crate::{FINGERPRINTS, group4};

use super::issued;

/// The CRL files of the folder, by id.
pub(crate) fn crl_files<'c>(ctx: &'c Ctx<'_>) -> impl Iterator<Item = (String, &'c str)> + 'c {
    ctx.files.iter().filter_map(|f| {
        let id = f.path.strip_prefix("crls/")?.strip_suffix(".crl")?;
        (!id.contains('/')).then(|| (id.to_string(), f.path.as_str()))
    })
}

pub(crate) fn section(ctx: &Ctx<'_>, findings: &mut Vec<String>) -> Vec<Block> {
    let crls: Vec<(String, String)> = crl_files(ctx).map(|(id, p)| (id, p.to_string())).collect();
    if crls.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![
        Block::Heading(2, "CRLs".to_string()),
        para(
            "Each CRL file, verified from the folder against the root certificate the log \
             names. Its SHA-256 is given upper case without colons (CPS 8.6), and in groups \
             of four for comparison on paper.",
        ),
    ];
    for (id, path) in crls {
        blocks.push(Block::Heading(3, format!("CRL {id}")));
        let mut fail = |what: &str, detail: String, blocks: &mut Vec<Block>| {
            findings.push(format!("CRL '{id}': {what}: {detail}"));
            blocks.push(para(format!("{what}: {detail}")));
        };
        let Some(root) = issued::issuer_file(ctx, "crl-verified", "crl", &id) else {
            fail(
                "Log",
                "the log records no verification of this CRL".to_string(),
                &mut blocks,
            );
            continue;
        };
        let der = match std::fs::read(ctx.dir.join(&path)) {
            Ok(der) => der,
            Err(e) => {
                fail(&path, format!("cannot be read: {e}"), &mut blocks);
                continue;
            }
        };
        let verified = issued::issuer(ctx, root).and_then(|issuer| {
            keyceremony_x509::verify_crl(&der, &issuer).map_err(|e| e.to_string())
        });
        let facts = match verified {
            Ok(facts) => facts,
            Err(e) => {
                fail("Software verification", e, &mut blocks);
                continue;
            }
        };
        let sha256 = keyceremony_x509::fingerprint_hex(&facts.sha256.unwrap_or_default());
        let revoked: Vec<String> = facts
            .entries
            .iter()
            .map(|e| {
                format!(
                    "{} (revoked {}, reason code {})",
                    hex::encode_upper(&e.serial),
                    e.revocation_date.to_rfc3339(),
                    e.reason_code
                )
            })
            .collect();
        blocks.push(fields(vec![
            ("File".to_string(), code_cell(&path)),
            ("Issuer".to_string(), cell(&facts.issuer)),
            ("CRL number".to_string(), cell(facts.number.to_string())),
            (
                "This update".to_string(),
                cell(facts.this_update.to_rfc3339()),
            ),
            (
                "Next update".to_string(),
                cell(facts.next_update.to_rfc3339()),
            ),
            (
                "Revoked".to_string(),
                cell(if revoked.is_empty() {
                    "none".to_string()
                } else {
                    revoked.join("; ")
                }),
            ),
            ("Verified against".to_string(), code_cell(root)),
            ("SHA-256 (CPS 8.6)".to_string(), code_cell(&sha256)),
            ("SHA-256, grouped".to_string(), code_cell(group4(&sha256))),
        ]));
        let checks = checks(ctx, &id, &der, &sha256);
        let rows = checks
            .into_iter()
            .map(|(what, result)| match result {
                Ok(detail) => vec![cell(what), cell("OK"), cell(detail)],
                Err(detail) => {
                    findings.push(format!("CRL '{id}': {what}: {detail}"));
                    vec![cell(what), vec![strong("FAILED")], cell(detail)]
                }
            })
            .collect();
        blocks.push(Block::Table(Table {
            header: ["Check", "Result", "Detail"].map(String::from).to_vec(),
            rows,
            kind: TableKind::Data,
        }));
    }
    blocks
}

/// The CRL against its PEM, fingerprints.txt and the log.
fn checks(
    ctx: &Ctx<'_>,
    id: &str,
    der: &[u8],
    sha256: &str,
) -> Vec<(String, Result<String, String>)> {
    let pem = format!("crls/{id}.crl.pem");
    let listed = std::fs::read_to_string(ctx.dir.join(FINGERPRINTS))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{id} SHA256 ")).map(str::to_string));
    let logged = ctx
        .of_kind("crl-verified")
        .find(|e| str_at(&e.data, "crl") == Some(id))
        .and_then(|e| str_at(&e.data, "sha256").map(|h| (e.seq, h.to_string())));
    vec![
        (
            pem.clone(),
            read_pem(&ctx.dir.join(&pem), "X509 CRL").and_then(|pem_der| {
                if pem_der == der {
                    Ok("holds the same CRL".to_string())
                } else {
                    Err("holds a different CRL".to_string())
                }
            }),
        ),
        (
            format!("{FINGERPRINTS} SHA256"),
            match listed {
                Some(hex) if hex.eq_ignore_ascii_case(sha256) => {
                    Ok("SHA256 line matches".to_string())
                }
                Some(hex) => Err(format!("SHA256 line says {hex}")),
                None => Err(format!("no SHA256 line for '{id}'")),
            },
        ),
        (
            "Log (crl-verified)".to_string(),
            match logged {
                Some((seq, hex)) if hex.eq_ignore_ascii_case(sha256) => {
                    Ok(format!("entry {seq} records the same SHA-256"))
                }
                Some((_, hex)) => Err(format!("the log records SHA-256 {hex}")),
                None => Err("the log records no verification of this CRL".to_string()),
            },
        ),
    ]
}
