//! What a later ceremony's root signed, as the certificate and CRL sections
//! and "How to check" need it: the root certificate the log names for each
//! (the copy of the ceremony's input, `inputs/<file>`), a subordinate CA
//! certificate verified in software against it, and the by-hand commands
//! that check each with OpenSSL alone.

use keyceremony_x509::{self as x509, Issuer};

use crate::context::{Ctx, public_key_pem_path, read_pem, str_at};
use crate::doc::{Block, para};

/// The root certificate (relative path) the log's verification entry of
/// `kind` (`certificate-verified`, `crl-verified`) names for output `id`.
pub(crate) fn issuer_file<'c>(
    ctx: &'c Ctx<'_>,
    kind: &'c str,
    field: &str,
    id: &str,
) -> Option<&'c str> {
    ctx.of_kind(kind)
        .find(|e| str_at(&e.data, field) == Some(id) && e.data.get("issuer_certificate").is_some())
        .and_then(|e| str_at(&e.data, "issuer_certificate"))
}

/// The root of `relative` (PEM or DER) as an issuer, or why not.
pub(crate) fn issuer(ctx: &Ctx<'_>, relative: &str) -> Result<Issuer, String> {
    let bytes = std::fs::read(ctx.dir.join(relative)).map_err(|e| format!("{relative}: {e}"))?;
    let der = x509::pem_or_der(&bytes, "CERTIFICATE", "the root certificate")
        .map_err(|e| e.to_string())?;
    let facts = x509::read_certificate_facts(&der).map_err(|e| e.to_string())?;
    Issuer::from_root(&der, &facts.spki_der).map_err(|e| format!("{relative}: {e}"))
}

/// The software check of a certificate the ceremony's root signed for
/// another key (a subordinate CA, a cross-certificate, an OCSP responder),
/// against the root and what the log says it certifies; None for a root
/// certificate.
pub(crate) fn verify_issued(
    ctx: &Ctx<'_>,
    label: &str,
    der: &[u8],
) -> Option<Result<String, String>> {
    let entry = ctx.of_kind("certificate-verified").find(|e| {
        str_at(&e.data, "key") == Some(label) && e.data.get("issuer_certificate").is_some()
    })?;
    let root = str_at(&entry.data, "issuer_certificate")?;
    let profile = str_at(&entry.data, "profile").unwrap_or_default();
    let key_file = public_key_pem_path(label);
    let verified = issuer(ctx, root).and_then(|issuer| {
        let spki = read_pem(&ctx.dir.join(&key_file), "PUBLIC KEY")?;
        let summary = match profile {
            "subordinate" => x509::verify_subordinate(der, &issuer, &spki),
            "ocsp-responder" => x509::verify_ocsp_responder(der, &issuer, &spki),
            "cross" => {
                let existing = str_at(&entry.data, "existing_certificate")
                    .ok_or("the log names no existing certificate")?;
                let bytes = std::fs::read(ctx.dir.join(existing))
                    .map_err(|e| format!("{existing}: {e}"))?;
                let existing = x509::pem_or_der(&bytes, "CERTIFICATE", "the existing certificate")
                    .map_err(|e| e.to_string())?;
                x509::verify_cross_certificate(der, &issuer, &existing)
            }
            other => return Err(format!("the log names an unknown profile '{other}'")),
        };
        summary.map_err(|e| e.to_string())
    });
    Some(verified.map(|summary| {
        format!(
            "signature verifies with the root key of {root}; certifies the key in {key_file}; {}; {} days",
            summary.document, summary.validity_days
        )
    }))
}

/// The copy of the CSR a subordinate CA certificate was made from, as the
/// log's record of reading it names it.
fn csr_copy(ctx: &Ctx<'_>, label: &str) -> Option<String> {
    ctx.of_kind("recorded")
        .find(|e| {
            str_at(&e.data, "certificate") == Some(label)
                && e.data.get("proof_of_possession") == Some(&serde_json::Value::Bool(true))
        })
        .and_then(|e| str_at(&e.data, "input"))
        .and_then(|input| std::path::Path::new(input).file_name())
        .map(|name| format!("inputs/{}", name.to_string_lossy()))
}

/// The commands that check each subordinate CA certificate and CRL the
/// ceremony signed by hand; `quote` quotes a path for the shell.
pub(crate) fn commands(ctx: &Ctx<'_>, quote: fn(&str) -> String) -> Vec<Block> {
    let mut blocks = Vec::new();
    for (label, _) in ctx.certificate_files() {
        if let Some(root) = issuer_file(ctx, "certificate-verified", "key", &label) {
            blocks.extend(certificate_commands(ctx, &label, root, quote));
        }
    }
    for (id, _) in super::crls::crl_files(ctx) {
        if let Some(root) = issuer_file(ctx, "crl-verified", "crl", &id) {
            blocks.extend(crl_commands(&id, root, quote));
        }
    }
    blocks
}

/// The commands that check a certificate the root signed, by hand.
fn certificate_commands(
    ctx: &Ctx<'_>,
    label: &str,
    root: &str,
    quote: fn(&str) -> String,
) -> Vec<Block> {
    let der = quote(&format!("certs/{label}.der"));
    let pem = quote(&format!("certs/{label}.pem"));
    let key = quote(&public_key_pem_path(label));
    let root = quote(root);
    let csr = csr_copy(ctx, label).map_or(String::new(), |csr| {
        format!(
            "\nopenssl req -in {} -noout -verify -pubkey | openssl pkey -pubin -outform DER | sha256sum",
            quote(&csr)
        )
    });
    vec![
        Block::Heading(3, format!("Certificate {label}, signed by the root")),
        para(
            "The fingerprints (equal to the report's and the paper script's), the chain to the \
             root certificate the ceremony signed under (OK), the certificate as text (its \
             extensions against the script's profile), and its public key against the key \
             file and, when it was made from a CSR, the CSR's (every SHA-256 equal):",
        ),
        Block::Code(format!(
            "openssl x509 -in {der} -inform DER -noout -fingerprint -sha256 | tr -d :\n\
             openssl x509 -in {der} -inform DER -noout -fingerprint -sha1 | tr -d :\n\
             openssl verify -x509_strict -CAfile {root} {pem}\n\
             openssl x509 -in {der} -inform DER -noout -text\n\
             openssl x509 -in {der} -inform DER -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum\n\
             openssl pkey -pubin -in {key} -outform DER | sha256sum{csr}"
        )),
    ]
}

/// The commands that check a CRL by hand.
fn crl_commands(id: &str, root: &str, quote: fn(&str) -> String) -> Vec<Block> {
    let der = quote(&format!("crls/{id}.crl"));
    let pem = quote(&format!("crls/{id}.crl.pem"));
    let root = quote(root);
    vec![
        Block::Heading(3, format!("CRL {id}")),
        para(
            "Its SHA-256 (equal to the report's and the paper script's), its signature with the \
             root certificate's key (verify OK), and the CRL as text: its number, thisUpdate and \
             nextUpdate, the revoked serials with their reasons, and the critical Issuing \
             Distribution Point with onlyContainsCACerts:",
        ),
        Block::Code(format!(
            "sha256sum {der}\n\
             openssl crl -in {pem} -CAfile {root} -verify -noout\n\
             openssl crl -in {der} -inform DER -noout -text"
        )),
    ]
}
