//! Text forms of fingerprints and DER for the script, the log and the audit report.

use base64ct::{Base64, Encoding};

/// Upper-case hex, no colons, spaces or line breaks: the form CPS 8.6 asks for the SHA-256
/// fingerprints in the audit report.
pub fn fingerprint_hex(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// Upper-case hex in groups of four digits separated by single spaces, for reading aloud and
/// comparing on paper: `"3A7F 09C2 ..."`.
pub fn grouped_hex(bytes: &[u8]) -> String {
    fingerprint_hex(bytes)
        .as_bytes()
        .chunks(4)
        .map(|group| group.iter().map(|&b| char::from(b)).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 7468 PEM with the given label (`"CERTIFICATE"`, `"PUBLIC KEY"`): base64 in lines of
/// 64 characters, LF line endings, ending with a line feed.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let base64 = Base64::encode_string(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.extend(line.iter().map(|&b| char::from(b)));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// The DER inside a PEM block labelled `label` (`"CERTIFICATE"`, `"X509 CRL"`), or the bytes
/// themselves when they are not PEM: a certificate or CRL file as `openssl` writes either.
/// `what` names the file in errors.
pub fn pem_or_der(bytes: &[u8], label: &str, what: &'static str) -> crate::Result<Vec<u8>> {
    if !bytes.trim_ascii_start().starts_with(b"-----BEGIN ") {
        return Ok(bytes.to_vec());
    }
    let (found, der) = der::pem::decode_vec(bytes.trim_ascii())
        .map_err(|e| crate::X509Error::malformed(what, format!("its PEM cannot be read: {e}")))?;
    if found != label {
        return Err(crate::X509Error::malformed(
            what,
            format!("its PEM label is {found:?}, not {label:?}"),
        ));
    }
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_upper_case_without_separators() {
        assert_eq!(fingerprint_hex(&[0x0a, 0xbc, 0xff]), "0ABCFF");
    }

    #[test]
    fn grouped_in_fours() {
        assert_eq!(grouped_hex(&[0x12, 0x34, 0x56, 0x78, 0x9a]), "1234 5678 9A");
        assert_eq!(grouped_hex(&[]), "");
    }

    #[test]
    fn pem_lines_and_armour() {
        let pem = pem_encode("CERTIFICATE", &[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        // 100 bytes are 136 base64 characters: 64 + 64 + 8.
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3].len(), 8);
        assert_eq!(lines[4], "-----END CERTIFICATE-----");
        assert!(pem.ends_with("-----\n"));
        let (label, der) = der::pem::decode_vec(pem.as_bytes()).expect("decode");
        assert_eq!(label, "CERTIFICATE");
        assert_eq!(der, [0u8; 100]);
    }
}
