//! "How to check": the commands an auditor runs by hand on a copy of the
//! folder (keyceremony, OpenSSL, jq), none of which trusts the report.

use crate::context::{Ctx, public_key_pem_path};
use crate::doc::{Block, para};
use crate::{LOG_FILE, REHEARSAL_SHARES, REPORT_HTML, REPORT_MARKDOWN, SCRIPT_COPY};

/// Single-quoted for a POSIX shell unless it needs no quoting.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// docs/auditor.md, as the binary was built with it.
const AUDITOR_GUIDE: &str = include_str!("../../../../docs/auditor.md");

/// The guide's log checks: its ```bash blocks from "## 1. The chain" up to
/// the section after "## 6.", as written, one after the other.
fn by_hand_checks() -> String {
    let mut script = String::new();
    let mut inside = false;
    let mut block = false;
    for line in AUDITOR_GUIDE.lines() {
        if line.starts_with("## ") {
            inside = line == "## 1. The chain" || (inside && !line.starts_with("## 7."));
            continue;
        }
        match (inside, block, line) {
            (true, false, "```bash") => block = true,
            (_, true, "```") => block = false,
            (true, true, line) => {
                script.push_str(line);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

pub(crate) fn section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![
        Block::Heading(2, "How to check".to_string()),
        para(
            "Each check below is run in a copy of the ceremony's output folder, on a machine \
             of the auditor's choosing, with OpenSSL, jq and keyceremony; none trusts this \
             report. docs/auditor.md explains each step of the log checks.",
        ),
        Block::Heading(3, "The log".to_string()),
        para(
            "HEAD_FROM_PAPER is the head hash copied onto the paper script at the seal-log \
             step, and WITNESS_KEY.pem the witness's public key as the witness handed it over: \
             never take either from the log or from this report, which are derived from the \
             log. Exit code 0 means sealed, completed and intact.",
        ),
        Block::Code(format!(
            "keyceremony verify-log {LOG_FILE} --expect-head HEAD_FROM_PAPER --witness-key WITNESS_KEY.pem"
        )),
        para(
            "The same by hand, with OpenSSL, jq and python3 only: docs/auditor.md's commands \
             (its sections 1 to 6, as written there), in a folder holding a copy of \
             ceremony.log and the witness's public key as witness-key.pem, with \
             HEAD_FROM_PAPER replaced by the head on paper. They walk the whole chain, check \
             every field of the seal's line against the statement, the statement against the \
             log, both signatures and their one form, and the head; the log is the \
             ceremony's only when every line printed is an ok: or a Verified OK.",
        ),
        Block::Code(by_hand_checks()),
        Block::Heading(3, "The script".to_string()),
        para(
            "Its SHA-256 equals the one printed on the paper script and the log's \
             script_sha256:",
        ),
        Block::Code(format!("sha256sum {SCRIPT_COPY}")),
        Block::Heading(3, "Every file".to_string()),
        para(
            "Lists every file with its SHA-256 (lower case), to compare with \"Output files\"; \
             a file there that is not in the table is one the report did not see.",
        ),
        Block::Code(format!(
            "find . -type f ! -path './{REHEARSAL_SHARES}/*' ! -name {REPORT_HTML} ! -name {REPORT_MARKDOWN} -print0 | sort -z | xargs -0 sha256sum"
        )),
    ];
    // A subordinate CA certificate's checks, and a CRL's, are the issued ones.
    let roots: Vec<String> = ctx
        .certificate_files()
        .map(|(label, _)| label)
        .filter(|label| {
            super::issued::issuer_file(ctx, "certificate-verified", "key", label).is_none()
        })
        .collect();
    for label in roots {
        let der = shell_quote(&format!("certs/{label}.der"));
        let pem = shell_quote(&format!("certs/{label}.pem"));
        let key = shell_quote(&public_key_pem_path(&label));
        blocks.push(Block::Heading(3, format!("Certificate {label}")));
        blocks.push(para(
            "The SHA-256 and SHA-1 fingerprints (equal to the report's and to the paper \
             script's), the self-signature, the whole certificate as text, and its public key \
             against the key file (both SHA-256 equal to the key's public key SHA-256, in lower \
             case):",
        ));
        blocks.push(Block::Code(format!(
            "openssl x509 -in {der} -inform DER -noout -fingerprint -sha256 | tr -d :\n\
             openssl x509 -in {der} -inform DER -noout -fingerprint -sha1 | tr -d :\n\
             openssl verify -CAfile {pem} {pem}\n\
             openssl x509 -in {der} -inform DER -noout -text\n\
             openssl x509 -in {der} -inform DER -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum\n\
             openssl pkey -pubin -in {key} -outform DER | sha256sum"
        )));
    }
    blocks.extend(super::issued::commands(ctx, shell_quote));
    blocks
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn the_by_hand_checks_are_the_guide_s() {
        let checks = super::by_hand_checks();
        for needed in [
            "CHAIN BROKEN",
            "statement.txt",
            "from-the-line.txt",
            "witness-key.pem",
            "ceremony-sig.der",
            "has the low s",
            "HEAD_FROM_PAPER",
            "checkpoint-sig.der",
        ] {
            assert!(checks.contains(needed), "{needed} not in:\n{checks}");
        }
        // Not the guide's other sections: its introduction, the copy for
        // the record, the failure shown on purpose, the signing.
        for other in [
            "cd /tmp/kc-audit",
            "sha256sum ceremony.log\n",
            "edited.log",
            " -sign ",
        ] {
            assert!(!checks.contains(other), "{other} in:\n{checks}");
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("certs/a-b.der"), "certs/a-b.der");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
