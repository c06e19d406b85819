//! The root's later ceremonies as the library layer does them, with the root key on a real
//! SoftHSM2 token: a root certificate, then a subordinate CA certificate from an OpenSSL
//! CSR, a first CRL that revokes nothing and a second that revokes the subordinate, an OCSP
//! responder certificate and a cross-certificate. Every TBS is linted before the token
//! signs it, every result verified in software and linted after; OpenSSL verifies each
//! against the root and pkilint finds nothing at warning level or above. Serial numbers
//! come from the token's generator.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use keyceremony_hsm::lab::SoftHsmLab;
use keyceremony_hsm::{
    KeyAlgorithm, KeyGenSpec, KeyPair, Module, SecretString, Session, UserKind, default_module_path,
};
use keyceremony_policy::{
    CertificateRecord, CrlRecord, Finding, Inventory, IssuedProfile, IssuedRecord, IssuedRecords,
    NewCertificate, PolicyError, lint_certificate, lint_crl, lint_crl_tbs, lint_issued_certificate,
    lint_issued_tbs, lint_tbs,
};
use keyceremony_x509::{
    CrlFacts, CrlNumber, CrlRequest, CrossRequest, DistinguishedName, IssuedCertificate, Issuer,
    ObjectIdentifier, OcspResponderRequest, Revocation, RevocationReason, RootCertificateRequest,
    SubordinateRequest, pem_encode, prepare_crl, prepare_cross_certificate, prepare_ocsp_responder,
    prepare_root, prepare_subordinate, read_certificate_facts, read_certification_request,
    verify_crl, verify_cross_certificate, verify_ocsp_responder, verify_root, verify_subordinate,
};

use common::{pkilint, reference_policy};

const CRL_URL: &str = "http://crl.example.com/example-policy-test-root.crl";
const ROOT_URL: &str = "http://crt.example.com/example-policy-test-root.der";
const USER_PIN: &str = "later-user-pin-0000";

/// One SoftHSM2 lab per test process, one test at a time on it.
fn module() -> (&'static Module, MutexGuard<'static, ()>) {
    static HSM: OnceLock<(Module, Mutex<()>)> = OnceLock::new();
    let (module, lock) = HSM.get_or_init(|| {
        let path = default_module_path()
            .expect("SoftHSM2 is not installed: run scripts/setup.sh (apt-get install softhsm2)");
        let dir = tempfile::Builder::new()
            .prefix("later-ceremonies-lab-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("lab folder")
            .keep();
        let lab = SoftHsmLab::create(&dir).expect("lab");
        lab.activate();
        (Module::load(&path).expect("load SoftHSM2"), Mutex::new(()))
    });
    (module, lock.lock().unwrap_or_else(PoisonError::into_inner))
}

/// A fresh token with a root key of `algorithm`, logged in as the user.
fn root_token(module: &Module, label: &str, algorithm: KeyAlgorithm) -> (Session, KeyPair) {
    let so = SecretString::from("later-so-pin-0000");
    let token = module
        .uninitialized_token()
        .expect("a free slot")
        .initialize(&so, label)
        .expect("initialize");
    let session = token.open_session().expect("session");
    session
        .login(UserKind::SecurityOfficer, &so)
        .expect("SO login");
    session
        .init_user_pin(&SecretString::from(USER_PIN))
        .expect("user PIN");
    session.logout().expect("SO logout");
    session
        .login(UserKind::User, &SecretString::from(USER_PIN))
        .expect("user login");
    let key = session
        .generate_key_pair(&KeyGenSpec {
            algorithm,
            label: format!("{label}-key"),
            id: vec![0x52, 0x4b],
            always_authenticate: false,
        })
        .expect("generate the root key");
    (session, key)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now")
}

fn name(organization: &str, common_name: &str) -> DistinguishedName {
    DistinguishedName {
        country: "JP".into(),
        state_or_province: None,
        locality: None,
        organization: organization.into(),
        common_name: common_name.into(),
    }
}

fn assert_clean(findings: &[Finding], what: &str) {
    assert_eq!(findings, &[] as &[Finding], "{what}");
}

/// pkilint's text report of no findings is a lone line feed.
fn assert_pkilint_clean(tool: &str, args: &[&str], label: &str, der: &[u8], what: &str) {
    let (status, output) = pkilint(tool, args, label, der);
    assert_eq!(
        (status, output.trim()),
        (Some(0), ""),
        "pkilint on the {what}:\n{output}"
    );
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed to run these tests");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

/// A P-384 key made by OpenSSL, written to `dir/file`.
fn openssl_p384_key(dir: &Path, file: &str) {
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-384",
            "-out",
            file,
        ],
    );
}

/// A P-384 key made by OpenSSL in `dir`, and a CSR for `subject` asking for a pathLen and
/// an EKU the certificate will not have.
fn openssl_csr(dir: &Path, subject: &str) -> Vec<u8> {
    openssl_p384_key(dir, "key.pem");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-sha384",
            "-key",
            "key.pem",
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:5",
            "-addext",
            "extendedKeyUsage=codeSigning",
            "-out",
            "request.csr",
        ],
    );
    std::fs::read(dir.join("request.csr")).expect("read the CSR")
}

/// The root's life in one lab, on a token holding a root key of `algorithm`.
struct Life {
    session: Session,
    key: KeyPair,
    dir: tempfile::TempDir,
    root: Vec<u8>,
    issuer: Issuer,
}

impl Life {
    fn sign(&self, tbs: &[u8]) -> Vec<u8> {
        self.session
            .sign_sha384(&self.key, tbs, None)
            .expect("the token signs")
    }

    fn serial(&self) -> Vec<u8> {
        self.session
            .random(16)
            .expect("serial from the token's generator")
    }

    fn write(&self, file: &str, label: &str, der: &[u8]) {
        std::fs::write(self.dir.path().join(file), pem_encode(label, der)).expect("write");
    }

    fn openssl_verify(&self, file: &str, der: &[u8]) {
        self.write(file, "CERTIFICATE", der);
        let out = openssl(
            self.dir.path(),
            &["verify", "-x509_strict", "-CAfile", "root.pem", file],
        );
        assert!(out.contains(&format!("{file}: OK")), "{out}");
    }

    fn openssl_crl(&self, file: &str, der: &[u8]) -> String {
        self.write(file, "X509 CRL", der);
        let out = openssl(
            self.dir.path(),
            &[
                "crl", "-in", file, "-CAfile", "root.pem", "-verify", "-noout", "-text",
            ],
        );
        assert!(out.contains("verify OK"), "{out}");
        out
    }
}

fn root_life(module: &Module, label: &str, algorithm: KeyAlgorithm) -> Life {
    let (session, key) = root_token(module, label, algorithm);
    let spki = session.public_key_spki_der(&key).expect("SPKI");
    let policy = reference_policy();
    let now = now();
    let request = RootCertificateRequest {
        subject: name(
            "Example Trust Co., Ltd.",
            &format!("Example Later Root {label}"),
        ),
        serial: session.random(16).expect("random"),
        not_before: now - TimeDelta::minutes(30),
        validity_days: 3652,
        digital_signature: false,
        subject_public_key_info: spki.clone(),
    };
    let prepared = prepare_root(&request, now).expect("prepare the root");
    assert_clean(&lint_tbs(prepared.tbs_der(), &policy), "root TBS");
    let signature = session
        .sign_sha384(&key, prepared.tbs_der(), None)
        .expect("sign");
    let root = prepared.assemble(&signature).expect("assemble");
    verify_root(&root, &spki).expect("verify the root");
    assert_clean(&lint_certificate(&root, &policy), "root");
    let issuer = Issuer::from_root(&root, &spki).expect("issuer");
    let life = Life {
        session,
        key,
        dir: tempfile::tempdir().expect("tempdir"),
        root,
        issuer,
    };
    life.write("root.pem", "CERTIFICATE", &life.root);
    life
}

fn subordinate(life: &Life, records: &mut IssuedRecords, records_path: &Path) -> (Vec<u8>, String) {
    let policy = reference_policy();
    let subject = name("Example Trust Co., Ltd.", "Example Later TLS Issuing CA 1");
    let csr = read_certification_request(&openssl_csr(
        life.dir.path(),
        "/C=JP/O=Example Trust Co., Ltd./CN=Example Later TLS Issuing CA 1",
    ))
    .expect("the CSR verifies");
    csr.check_subject(&subject).expect("the script's subject");
    let ignored: Vec<_> = csr.requested_extensions.iter().map(|e| e.name).collect();
    assert_eq!(ignored, [Some("basicConstraints"), Some("extKeyUsage")]);

    let roots = Inventory::default();
    records
        .check_new(
            &roots,
            NewCertificate::Subordinate,
            &subject.to_string(),
            &csr.subject_public_key_info,
        )
        .expect("a new key and subject");
    let request = SubordinateRequest {
        subject,
        serial: life.serial(),
        not_before: now() - TimeDelta::minutes(10),
        validity_days: 1826,
        path_len_constraint: Some(0),
        client_auth: true,
        digital_signature: false,
        policies: vec![
            ObjectIdentifier::new_unwrap("2.23.140.1.2.2"),
            ObjectIdentifier::new_unwrap("1.2.392.200091.100.901.11"),
        ],
        crl_url: CRL_URL.into(),
        ocsp_url: None,
        ca_issuers_url: Some(ROOT_URL.into()),
        subject_public_key_info: csr.subject_public_key_info.clone(),
    };
    let prepared = prepare_subordinate(&request, &life.issuer, now()).expect("prepare");
    assert_clean(
        &lint_issued_tbs(
            IssuedProfile::Subordinate,
            prepared.tbs_der(),
            &life.issuer,
            &policy,
        ),
        "subordinate TBS",
    );
    let signature = life.sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    let summary =
        verify_subordinate(&cert, &life.issuer, &csr.subject_public_key_info).expect("verify");
    assert_clean(
        &lint_issued_certificate(IssuedProfile::Subordinate, &cert, &life.issuer, &policy),
        "subordinate",
    );
    life.openssl_verify("sub.pem", &cert);
    assert_pkilint_clean(
        "lint_cabf_serverauth_cert",
        &[
            "lint",
            "-t",
            "INTERNAL-UNCONSTRAINED-TLS-CA",
            "-s",
            "WARNING",
        ],
        "CERTIFICATE",
        &cert,
        "subordinate CA certificate",
    );

    let record = CertificateRecord::new(
        "later-sub",
        now(),
        &life.issuer,
        &summary,
        Some(&csr.sha256),
    );
    IssuedRecords::record(records_path, &IssuedRecord::SubordinateCa(record)).expect("record");
    *records = IssuedRecords::load(records_path).expect("reload");
    let again = records
        .check_new(
            &roots,
            NewCertificate::Subordinate,
            "CN=Another CA,O=Example Trust Co.\\, Ltd.,C=JP",
            &csr.subject_public_key_info,
        )
        .expect_err("the subordinate's key again");
    assert!(matches!(again, PolicyError::ReusedKey { .. }), "{again}");
    (cert, summary.serial_hex)
}

fn crl(
    life: &Life,
    number: u64,
    revoked: Vec<Revocation>,
    previous: Option<&CrlFacts>,
) -> (Vec<u8>, CrlFacts) {
    let policy = reference_policy();
    let this_update = now() - TimeDelta::minutes(5) + TimeDelta::seconds(number as i64);
    let request = CrlRequest {
        number: CrlNumber::new(number),
        this_update,
        next_update: this_update + TimeDelta::days(360),
        distribution_point: Some(CRL_URL.into()),
        revoked,
        expired: Vec::new(),
    };
    let prepared = prepare_crl(&request, &life.issuer, previous, now()).expect("prepare the CRL");
    assert_clean(
        &lint_crl_tbs(prepared.tbs_der(), &life.issuer, &policy),
        "CRL TBS",
    );
    let signature = life.sign(prepared.tbs_der());
    let crl = prepared.assemble(&signature).expect("assemble");
    let facts = verify_crl(&crl, &life.issuer).expect("verify the CRL");
    assert_clean(&lint_crl(&crl, &life.issuer, &policy), "CRL");
    assert_pkilint_clean(
        "lint_crl",
        &["lint", "-t", "ARL", "-p", "BR", "-s", "WARNING"],
        "X509 CRL",
        &crl,
        "CRL",
    );
    (crl, facts)
}

fn whole_life(label: &str, algorithm: KeyAlgorithm) {
    let (module, _lock) = module();
    let life = root_life(module, label, algorithm);
    let records_path = life.dir.path().join("inventory.issued.jsonl");
    let mut records = IssuedRecords::load(&records_path).expect("no records yet");

    let (sub, sub_serial) = subordinate(&life, &mut records, &records_path);

    records
        .check_crl_sequence(&life.issuer, None, &CrlNumber::new(1))
        .expect("the first CRL");
    let (first, first_facts) = crl(&life, 1, Vec::new(), None);
    assert!(
        life.openssl_crl("first.crl.pem", &first)
            .contains("No Revoked Certificates")
    );
    let record = CrlRecord::new("later-crl-1", now(), &life.issuer, &first_facts).expect("record");
    IssuedRecords::record(&records_path, &IssuedRecord::Crl(record)).expect("record");
    records = IssuedRecords::load(&records_path).expect("reload");

    let from_records = records
        .issued_certificate(&life.issuer, &sub_serial)
        .expect("in the records");
    assert_eq!(
        from_records,
        IssuedCertificate::from_certificate(&sub, &life.issuer).expect("ours")
    );
    let revocation = Revocation {
        certificate: from_records,
        revocation_date: now() - TimeDelta::minutes(10),
        reason: RevocationReason::Superseded,
    };
    let err = records
        .check_crl_sequence(&life.issuer, None, &CrlNumber::new(2))
        .expect_err("the previous CRL is needed");
    assert!(matches!(err, PolicyError::CrlSequence { .. }), "{err}");
    records
        .check_crl_sequence(&life.issuer, Some(&first_facts), &CrlNumber::new(2))
        .expect("the second CRL follows the first");
    let (second, second_facts) = crl(&life, 2, vec![revocation], Some(&first_facts));
    assert!(second_facts.number > first_facts.number);
    let text = life.openssl_crl("second.crl.pem", &second);
    assert!(
        text.contains(&format!("Serial Number: {sub_serial}")),
        "{text}"
    );

    ocsp_responder(&life);
    cross_certificate(&life);
}

fn ocsp_responder(life: &Life) {
    let policy = reference_policy();
    let csr = read_certification_request(&openssl_csr(
        life.dir.path(),
        "/C=JP/O=Example Trust Co., Ltd./CN=Example Later OCSP Responder",
    ))
    .expect("CSR");
    let request = OcspResponderRequest {
        subject: name("Example Trust Co., Ltd.", "Example Later OCSP Responder"),
        serial: life.serial(),
        not_before: now() - TimeDelta::minutes(10),
        validity_days: 90,
        subject_public_key_info: csr.subject_public_key_info.clone(),
    };
    let prepared = prepare_ocsp_responder(&request, &life.issuer, now()).expect("prepare");
    assert_clean(
        &lint_issued_tbs(
            IssuedProfile::OcspResponder,
            prepared.tbs_der(),
            &life.issuer,
            &policy,
        ),
        "OCSP responder TBS",
    );
    let signature = life.sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    verify_ocsp_responder(&cert, &life.issuer, &csr.subject_public_key_info).expect("verify");
    assert_clean(
        &lint_issued_certificate(IssuedProfile::OcspResponder, &cert, &life.issuer, &policy),
        "OCSP responder",
    );
    life.openssl_verify("ocsp.pem", &cert);
    assert_pkilint_clean(
        "lint_cabf_serverauth_cert",
        &["lint", "-t", "OCSP-RESPONDER", "-s", "WARNING"],
        "CERTIFICATE",
        &cert,
        "OCSP responder certificate",
    );
}

fn cross_certificate(life: &Life) {
    let policy = reference_policy();
    let dir = life.dir.path();
    openssl_p384_key(dir, "other.pem");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-sha384",
            "-key",
            "other.pem",
            "-subj",
            "/C=JP/O=Example Trust Co., Ltd./CN=Example Later Other Root",
            "-days",
            "3000",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-outform",
            "DER",
            "-out",
            "other.der",
        ],
    );
    let existing = std::fs::read(dir.join("other.der")).expect("read");
    let request = CrossRequest {
        existing_certificate: existing.clone(),
        serial: life.serial(),
        not_before: read_certificate_facts(&existing)
            .expect("facts")
            .not_before
            .max(now() - TimeDelta::minutes(5)),
        validity_days: 1826,
        client_auth: false,
        policies: vec![ObjectIdentifier::new_unwrap("2.23.140.1.2.2")],
        crl_url: CRL_URL.into(),
        ocsp_url: None,
        ca_issuers_url: Some(ROOT_URL.into()),
    };
    let profile = IssuedProfile::Cross {
        existing_certificate: &existing,
    };
    let prepared = prepare_cross_certificate(&request, &life.issuer, now()).expect("prepare");
    assert_clean(
        &lint_issued_tbs(profile, prepared.tbs_der(), &life.issuer, &policy),
        "cross TBS",
    );
    let signature = life.sign(prepared.tbs_der());
    let cert = prepared.assemble(&signature).expect("assemble");
    verify_cross_certificate(&cert, &life.issuer, &existing).expect("verify");
    assert_clean(
        &lint_issued_certificate(profile, &cert, &life.issuer, &policy),
        "cross",
    );
    life.openssl_verify("cross.pem", &cert);
    assert_pkilint_clean(
        "lint_cabf_serverauth_cert",
        &["lint", "-t", "INTERNAL-CROSS-CA", "-s", "WARNING"],
        "CERTIFICATE",
        &cert,
        "cross-certificate",
    );
}

#[test]
fn a_p384_roots_later_life_on_softhsm2() {
    whole_life("later-p384", KeyAlgorithm::EcP384);
}

#[test]
fn an_rsa_4096_roots_later_life_on_softhsm2() {
    whole_life("later-rsa", KeyAlgorithm::Rsa4096);
}
