//! The parts of the paper script of a later ceremony: the root it signs
//! with, the files it reads (each with its SHA-256 to compare with what the
//! tool shows), and every subordinate CA certificate and CRL it signs, as
//! the reviewed script describes them.

use keyceremony_script::{Action, Script};

use crate::doc::{Block, Span, Table, TableKind, WriteIn, cell, code_cell, fields, text};

/// A key generation's script is the Key Generation Script of CPS 6.1.1; a
/// later ceremony's is its own.
pub(super) fn document_name(s: &Script) -> &'static str {
    if s.root.is_some() {
        "Ceremony Script"
    } else {
        "Key Generation Script"
    }
}

pub(super) fn action_line(action: &Action) -> String {
    match action {
        Action::SignSubordinate { certificate } => format!(
            "sign-subordinate: the root key signs the subordinate CA certificate '{certificate}'"
        ),
        Action::SignCross { certificate } => {
            format!("sign-cross: the root key signs the cross-certificate '{certificate}'")
        }
        Action::SignOcspResponder { certificate } => format!(
            "sign-ocsp-responder: the root key signs the OCSP responder certificate '{certificate}'"
        ),
        Action::SignCrl { crl } => format!("sign-crl: the root key signs CRL '{crl}'"),
        Action::DestroyKey { key } => format!(
            "destroy-key: the root key pair '{key}' is destroyed, after it signs a challenge that verifies with the root certificate"
        ),
        other => other.name().to_string(),
    }
}

/// The value the room copies at a signing step.
pub(super) fn value_label(action: &Action) -> String {
    match action {
        Action::SignCrl { crl } => format!("SHA-256 of CRL '{crl}'"),
        Action::DestroyKey { key } => format!("Public key SHA-256 of the destroyed key '{key}'"),
        Action::SignSubordinate { certificate }
        | Action::SignCross { certificate }
        | Action::SignOcspResponder { certificate } => {
            format!("SHA-256 fingerprint of certificate '{certificate}'")
        }
        other => other.name().to_string(),
    }
}

/// The root, the inputs and what the ceremony signs; nothing for a key
/// generation ceremony.
pub(super) fn root_section(s: &Script) -> Vec<Block> {
    let Some(root) = &s.root else {
        return Vec::new();
    };
    let mut blocks = vec![
        Block::Heading(2, "The root and what it signs".to_string()),
        fields(vec![
            ("Root key (on the token)".to_string(), code_cell(&root.key)),
            (
                "Its key generation ceremony (whose shares activate it)".to_string(),
                code_cell(s.activation.shares_from.as_deref().unwrap_or("-")),
            ),
            (
                "User PIN split".to_string(),
                cell(s.activation.user_pin_split.as_deref().unwrap_or(
                    "as the inventory records it for that ceremony: a share of another split is refused",
                )),
            ),
            (
                "Root certificate".to_string(),
                code_cell(root.certificate.display().to_string()),
            ),
        ]),
        Block::Para(vec![text(
            "Every file the ceremony reads, named in the inputs folder. The tool copies each \
             into the output folder (inputs/) and records its SHA-256: compare it with the one \
             the file was handed over with.",
        )]),
    ];
    let expected = |file: &std::path::Path| -> String {
        if Some(file) == Some(root.certificate.as_path()) {
            return root.certificate_sha256.clone().unwrap_or_default();
        }
        let subordinates = s
            .subordinates
            .iter()
            .map(|sub| (sub.input().map(|(f, _)| f), &sub.input_sha256));
        let crosses = s
            .cross_certificates
            .iter()
            .map(|c| (Some(&c.existing), &c.input_sha256));
        let responders = s
            .ocsp_responders
            .iter()
            .map(|o| (o.input().map(|(f, _)| f), &o.input_sha256));
        subordinates
            .chain(crosses)
            .chain(responders)
            .find(|(f, _)| f.is_some_and(|f| f == file))
            .and_then(|(_, sha)| sha.clone())
            .unwrap_or_default()
    };
    blocks.push(Block::Table(Table {
        header: [
            "Input",
            "File",
            "SHA-256 the script names",
            "SHA-256 the tool shows",
        ]
        .map(String::from)
        .to_vec(),
        rows: s
            .inputs()
            .into_iter()
            .map(|(field, file)| {
                vec![
                    code_cell(field),
                    code_cell(file.display().to_string()),
                    code_cell(expected(file)),
                    vec![Span::WriteIn(WriteIn::Hex64)],
                ]
            })
            .collect(),
        kind: TableKind::Form,
    }));
    if !s.subordinates.is_empty() {
        blocks.push(Block::Table(Table {
            header: ["Subordinate CA", "Subject", "Profile", "URLs"]
                .map(String::from)
                .to_vec(),
            rows: s
                .subordinates
                .iter()
                .map(|sub| {
                    let subject = &sub.subject;
                    let mut profile = vec![
                        format!("{} days", sub.validity_days),
                        sub.path_len_constraint
                            .map_or("no path length".to_string(), |n| format!("pathLen {n}")),
                        if sub.client_auth {
                            "serverAuth, clientAuth".to_string()
                        } else {
                            "serverAuth".to_string()
                        },
                        format!("policies {}", sub.policies.join(", ")),
                    ];
                    if sub.digital_signature {
                        profile.push("digitalSignature".to_string());
                    }
                    let urls = [
                        Some(format!("CRL {}", sub.crl_url)),
                        sub.ca_issuers_url
                            .as_ref()
                            .map(|u| format!("caIssuers {u}")),
                        sub.ocsp_url.as_ref().map(|u| format!("OCSP {u}")),
                    ];
                    vec![
                        code_cell(&sub.id),
                        cell(format!(
                            "CN={}, O={}, C={}",
                            subject.common_name, subject.organization, subject.country
                        )),
                        cell(profile.join("; ")),
                        cell(urls.into_iter().flatten().collect::<Vec<_>>().join("; ")),
                    ]
                })
                .collect(),
            kind: TableKind::Data,
        }));
    }
    if !s.cross_certificates.is_empty() || !s.ocsp_responders.is_empty() {
        let crosses = s.cross_certificates.iter().map(|c| {
            let profile = format!(
                "cross-certificate of {}; {} days; policies {}; CRL {}",
                c.existing.display(),
                c.validity_days,
                c.policies.join(", "),
                c.crl_url
            );
            (c.id.as_str(), profile)
        });
        let responders = s.ocsp_responders.iter().map(|o| {
            let profile = format!(
                "OCSP responder CN={}, O={}, C={}; {} days; OCSPSigning, ocsp-nocheck",
                o.subject.common_name, o.subject.organization, o.subject.country, o.validity_days
            );
            (o.id.as_str(), profile)
        });
        blocks.push(Block::Table(Table {
            header: ["Certificate", "What it certifies"]
                .map(String::from)
                .to_vec(),
            rows: crosses
                .chain(responders)
                .map(|(id, profile)| vec![code_cell(id), cell(profile)])
                .collect(),
            kind: TableKind::Data,
        }));
    }
    if !s.crls.is_empty() {
        blocks.push(Block::Table(Table {
            header: ["CRL", "Number", "Next update", "Previous CRL", "Revokes"]
                .map(String::from)
                .to_vec(),
            rows: s
                .crls
                .iter()
                .map(|crl| {
                    let revoked: Vec<String> = crl
                        .revoked
                        .iter()
                        .map(|r| format!("serial {} ({})", r.serial, r.reason))
                        .collect();
                    vec![
                        code_cell(&crl.id),
                        cell(crl.number.to_string()),
                        cell(format!("{} days after thisUpdate", crl.next_update_days)),
                        cell(
                            crl.previous
                                .as_ref()
                                .map_or("none".to_string(), |p| p.display().to_string()),
                        ),
                        cell(if revoked.is_empty() {
                            "nothing".to_string()
                        } else {
                            revoked.join("; ")
                        }),
                    ]
                })
                .collect(),
            kind: TableKind::Data,
        }));
    }
    blocks
}
