//! The ceremony script: one strictly parsed type per ceremony, as boulder's
//! `cmd/ceremony` keeps it. Unknown keys are errors everywhere
//! (`deny_unknown_fields`), so a typo can never silently drop a control.

pub use keyceremony_log::WitnessSigning;
use serde::Deserialize;

pub use crate::later::{
    CrlSpec, CrossSpec, OcspResponderSpec, RestoreSpec, RevokedSpec, RootSpec, SubordinateSpec,
};

/// A whole Key Generation Script (CPS 6.1.1 item 1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    pub ceremony: CeremonyInfo,
    pub hsm: HsmSettings,
    pub participants: Vec<Participant>,
    pub activation: Activation,
    pub log: LogSettings,
    #[serde(default)]
    pub keys: Vec<KeySpec>,
    #[serde(default)]
    pub certificates: Vec<CertificateSpec>,
    /// A later ceremony's root key and certificate (`crate::later`).
    #[serde(default)]
    pub root: Option<RootSpec>,
    /// A root key's backup to restore onto this ceremony's new token.
    #[serde(default)]
    pub restore: Option<RestoreSpec>,
    #[serde(default)]
    pub subordinates: Vec<SubordinateSpec>,
    #[serde(default)]
    pub crls: Vec<CrlSpec>,
    #[serde(default)]
    pub cross_certificates: Vec<CrossSpec>,
    #[serde(default)]
    pub ocsp_responders: Vec<OcspResponderSpec>,
    pub acts: Vec<Act>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyInfo {
    /// Stable identifier, lower case letters, digits and '-'; it names the
    /// ceremony in shares and records.
    pub id: String,
    pub name: String,
    pub mode: Mode,
    /// The policy the ceremony follows: `ceremony-scripts/policy/<name>.toml`
    /// beside the script's folder (CPS rules as data).
    pub policy: String,
    /// Free text shown on the paper script and the start screen.
    #[serde(default)]
    pub description: String,
    /// Where the ceremony takes place (building, room), for the report.
    #[serde(default)]
    pub location: Option<String>,
    /// References of the video recordings of the ceremony (camera, recording
    /// and the bag or disc it is kept in), for the report.
    #[serde(default)]
    pub video: Vec<String>,
}

/// A rehearsal runs against a lab token and may take activation data from an
/// answers file; a production ceremony never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Rehearsal,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmSettings {
    /// CKA_LABEL of the token the ceremony works on.
    pub token_label: String,
    /// True when the ceremony initialises a new token (C_InitToken) under
    /// that label; false when the token exists already.
    pub initialize: bool,
    /// With `initialize`: the token exists already under `token_label`
    /// (an aborted key generation's, say) and the init-token step
    /// re-initialises it (CPS 6.2.10): its objects are listed with the
    /// user-PIN shares of `activation.shares-from`, which open it now, and
    /// C_InitToken, activated by k of that ceremony's SO-PIN custodians,
    /// erases them all; the token then gets new PINs, split as a new
    /// token's are.
    #[serde(default)]
    pub reinitialize: bool,
    /// Serial of the token to initialise, when the module has more than one
    /// uninitialised token.
    #[serde(default)]
    pub token_serial: Option<String>,
    /// Logins the token refuses (a PIN rebuilt from wrong shares) in the
    /// whole ceremony, across every run, before it stops and can only be
    /// aborted: SoftHSM2 and some tokens never lock, so the tool keeps its
    /// own limit (CPS 5.4.1 3.1).
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// Shares the tool refuses before any PKCS#11 call (a typo, another
    /// ceremony's share, a share presented by someone else than its
    /// custodian) in the whole ceremony, across every run, before it stops
    /// and can only be aborted. Counted apart from failed logins: none of
    /// them reached the token.
    #[serde(default = "default_max_refused_shares")]
    pub max_refused_shares: u32,
    /// The HSM's make and model, for the report.
    #[serde(default)]
    pub model: Option<String>,
    /// The HSM's certification, such as a FIPS 140-3 certificate number,
    /// for the report.
    #[serde(default)]
    pub certification: Option<String>,
}

fn default_max_failed_logins() -> u32 {
    3
}

fn default_max_refused_shares() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
}

impl Participant {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The CPS 5.2.1 trusted roles that take part in a ceremony, the Qualified
/// Auditor of CPS 6.1.1, and the holders of activation data of CPS 6.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    CaAdministrator,
    ServiceOperationManager,
    LogExaminer,
    QualifiedAuditor,
    Custodian,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::CaAdministrator => "ca-administrator",
            Role::ServiceOperationManager => "service-operation-manager",
            Role::LogExaminer => "log-examiner",
            Role::QualifiedAuditor => "qualified-auditor",
            Role::Custodian => "custodian",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Role::CaAdministrator => "CA Administrator",
            Role::ServiceOperationManager => "Service Operation Manager",
            Role::LogExaminer => "Log Examiner",
            Role::QualifiedAuditor => "Qualified Auditor",
            Role::Custodian => "Custodian of activation data",
        }
    }
}

/// How the ceremony log is closed and kept (CPS 5.4.1, 5.4.5, 6.1.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// CKA_LABEL of the P-384 key on the ceremony token that signs the seal:
    /// generated with the token in an init-token step, or found there.
    pub signing_key: String,
    /// The participant who signs the seal with their own key.
    pub witness: String,
    /// How they sign it.
    #[serde(default)]
    pub witness_signing: WitnessSigning,
    /// SHA-256 of the DER SubjectPublicKeyInfo of the witness's P-384 key,
    /// fixed before the ceremony: the seal must be signed by that key.
    /// Required for independent signing.
    #[serde(default)]
    pub witness_key_sha256: Option<String>,
    /// Lab-token signing only: label of the witness's token.
    #[serde(default)]
    pub witness_token: Option<String>,
    /// Lab-token signing only: CKA_LABEL of the witness's P-384 key on it.
    #[serde(default)]
    pub witness_key: Option<String>,
    /// Lab-token signing only: PKCS#11 module of the witness's token, when
    /// it is not the ceremony's.
    #[serde(default)]
    pub witness_module: Option<std::path::PathBuf>,
    /// Folder on removable media that receives a verified copy of the sealed
    /// log (CPS 5.4.5); `--backup` overrides it.
    pub backup: std::path::PathBuf,
}

/// Who holds the token's activation data (CPS 6.4.1, 6.4.2): each PIN is
/// split k-of-n among its custodians, and k of them must be present to
/// rebuild it (CPS 6.2.2, 6.2.8).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Activation {
    pub so_pin: Quorum,
    pub user_pin: Quorum,
    /// Id of the ceremony whose shares activate the token, when it is not
    /// this one (a ceremony on a token initialised earlier).
    #[serde(default)]
    pub shares_from: Option<String>,
    /// The split of the user PIN those shares belong to (the four symbols
    /// after the ceremony tag, `U-TAG-SPLIT`), when the inventory does not
    /// record it; a share of another split is refused.
    #[serde(default)]
    pub user_pin_split: Option<String>,
    /// The backup custodians among whom a backup-key step splits the wrap
    /// key of a root key's backup (CPS 5.2.2, 6.2.4).
    #[serde(default)]
    pub backup: Option<Quorum>,
}

/// The quorum of a secret the script does not split: nobody holds it.
static NO_QUORUM: Quorum = Quorum {
    custodians: Vec::new(),
    threshold: 0,
};

impl Activation {
    /// The custodians of one secret.
    pub fn quorum(&self, secret: Secret) -> &Quorum {
        match secret {
            Secret::SoPin => &self.so_pin,
            Secret::UserPin => &self.user_pin,
            Secret::WrapKey => self.backup.as_ref().unwrap_or(&NO_QUORUM),
        }
    }
}

/// The secrets split among custodians: the two that activate a token, and
/// a backup's wrap key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Secret {
    SoPin,
    UserPin,
    WrapKey,
}

impl Secret {
    /// The two PINs that activate a token.
    pub const ALL: [Secret; 2] = [Secret::SoPin, Secret::UserPin];

    /// Every secret a share may be of.
    pub const SHARED: [Secret; 3] = [Secret::SoPin, Secret::UserPin, Secret::WrapKey];

    /// The name used in the script and the answers file.
    pub fn as_str(self) -> &'static str {
        match self {
            Secret::SoPin => "so-pin",
            Secret::UserPin => "user-pin",
            Secret::WrapKey => "wrap-key",
        }
    }
}

/// k of n custodians.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quorum {
    /// Participant ids; each holds one share.
    pub custodians: Vec<String>,
    /// How many of them must be present.
    pub threshold: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// CKA_LABEL of both halves of the key pair; also names the output files.
    pub label: String,
    pub algorithm: KeyAlgorithm,
    /// Generated for backup (CPS 6.2.4): CKA_EXTRACTABLE with
    /// CKA_WRAP_WITH_TRUSTED, still sensitive, so that it leaves the token
    /// only wrapped by a trusted key; a backup-key step backs it up. Only
    /// where the policy's `[backup]` allows it.
    #[serde(default)]
    pub backup: bool,
}

/// CPS 6.1.5: the only root key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    EcP384,
    /// Parsed so that validation refuses it with its CPS section instead of
    /// a bare parse error.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    EcP256,
}

impl KeyAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa4096 => "rsa-4096",
            KeyAlgorithm::EcP384 => "ec-p384",
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::EcP256 => "ec-p256",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    /// Label of the key (from `keys`) that the certificate certifies and is signed by.
    pub key: String,
    pub subject: SubjectName,
    /// Days of 86,400 s, counted from notBefore through notAfter (CPS 6.3.2).
    pub validity_days: u32,
    /// Adds digitalSignature to keyUsage, for a root that signs OCSP responses.
    #[serde(default)]
    pub digital_signature: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectName {
    pub country: String,
    #[serde(default)]
    pub state_or_province: Option<String>,
    #[serde(default)]
    pub locality: Option<String>,
    pub organization: String,
    pub common_name: String,
}

/// A part of the ceremony; the paper script puts each act on its own page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Act {
    pub id: String,
    pub title: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub instructions: String,
    pub performer: String,
    pub witness: String,
    #[serde(default)]
    pub action: Action,
    /// Values read in the room and copied into the record (bag serials,
    /// clock readings).
    #[serde(default)]
    pub record: Vec<RecordField>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordField {
    pub name: String,
    pub label: String,
    /// What the value must look like (`sha256`, `bag-serial`): another is
    /// refused and asked again.
    #[serde(default)]
    pub format: Option<crate::FieldFormat>,
    /// The value the room must read (a published SHA-256, the serial
    /// recorded when an item was last sealed): another is an exception the
    /// witness decides.
    #[serde(default)]
    pub expect: Option<String>,
    /// The item (`hsm`) whose tamper-evident bag this field's serial is
    /// read from before it is opened: checked against `expect`, or the
    /// last new bag recorded for the item in this ceremony.
    #[serde(default)]
    pub opens: Option<String>,
    /// The item that goes into a new tamper-evident bag with this serial,
    /// which no bag of the ceremony may have had before.
    #[serde(default)]
    pub seals: Option<String>,
}

/// What the tool does in a step. Manual steps are done by people and
/// confirmed by the witness; the others drive the HSM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Action {
    #[default]
    Manual,
    /// The witness confirms each participant's identity (CPS 5.2.3).
    CheckIn,
    /// The witness compares the system clock with a reference clock; the
    /// difference is recorded (CPS 5.5.5).
    ClockCheck,
    /// C_InitToken and C_InitPIN under dual control.
    InitToken,
    /// C_Login as the user under dual control (CPS 6.2.8).
    Login,
    GenerateKey {
        key: String,
    },
    SelfSign {
        certificate: String,
    },
    Export {
        certificate: String,
    },
    /// The root signs a subordinate CA certificate (`subordinates`).
    SignSubordinate {
        certificate: String,
    },
    /// The root signs its CRL (`crls`).
    SignCrl {
        crl: String,
    },
    /// The root cross-certifies an existing CA certificate
    /// (`cross_certificates`).
    SignCross {
        certificate: String,
    },
    /// The root certifies its delegated OCSP responder (`ocsp_responders`).
    SignOcspResponder {
        certificate: String,
    },
    /// The root key pair (`root.key`) is destroyed (CPS 6.2.10): once the
    /// room has seen it, k custodians activate it one last time to sign a
    /// challenge that verifies with the root certificate, then both halves
    /// are destroyed and the token searched for what is left.
    DestroyKey {
        key: String,
    },
    /// The root key, generated for backup, is backed up (CPS 6.2.4): k
    /// SO-PIN custodians import a wrap key drawn from the token as trusted,
    /// k user-PIN custodians have the key wrapped with it (RFC 5649), the
    /// wrap key is split among the backup custodians and destroyed.
    BackupKey {
        key: String,
    },
    /// A root key's backup (`[restore]`) is restored onto the new token:
    /// k backup custodians rebuild the wrap key, the SO imports it as
    /// trusted, the user has the backup unwrapped and the copy proved with
    /// the root certificate's key, and the wrap key is destroyed.
    RestoreKey {
        key: String,
    },
    /// C_Logout and close the session (CPS 6.2.9).
    Logout,
    /// Closes the log: k custodians activate the token once more, the
    /// log-signing key and the witness's own key sign the seal. Always the
    /// last step: nothing can be recorded after it.
    SealLog,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Manual => "manual",
            Action::CheckIn => "check-in",
            Action::ClockCheck => "clock-check",
            Action::InitToken => "init-token",
            Action::Login => "login",
            Action::GenerateKey { .. } => "generate-key",
            Action::SelfSign { .. } => "self-sign",
            Action::Export { .. } => "export",
            Action::SignSubordinate { .. } => "sign-subordinate",
            Action::SignCrl { .. } => "sign-crl",
            Action::SignCross { .. } => "sign-cross",
            Action::SignOcspResponder { .. } => "sign-ocsp-responder",
            Action::DestroyKey { .. } => "destroy-key",
            Action::BackupKey { .. } => "backup-key",
            Action::RestoreKey { .. } => "restore-key",
            Action::Logout => "logout",
            Action::SealLog => "seal-log",
        }
    }

    /// Whether the step talks to the HSM.
    pub fn touches_hsm(&self) -> bool {
        !matches!(
            self,
            Action::Manual | Action::CheckIn | Action::Export { .. }
        )
    }

    /// Whether the step signs with the CA key: the go first, then a fresh
    /// activation by k custodians (CKA_ALWAYS_AUTHENTICATE, CPS 6.2.8). A
    /// destruction signs too: the proof that the key destroyed is the
    /// certified one.
    pub fn signs_with_ca_key(&self) -> bool {
        matches!(
            self,
            Action::SelfSign { .. }
                | Action::SignSubordinate { .. }
                | Action::SignCrl { .. }
                | Action::SignCross { .. }
                | Action::SignOcspResponder { .. }
                | Action::DestroyKey { .. }
        )
    }

    /// Whether the step activates the token with the user-PIN shares: a
    /// login, a signature with the CA key, a backup, the seal.
    pub fn activates(&self) -> bool {
        matches!(
            self,
            Action::Login | Action::SealLog | Action::BackupKey { .. } | Action::RestoreKey { .. }
        ) || self.signs_with_ca_key()
    }
}

impl Script {
    pub fn participant(&self, id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.id == id)
    }

    pub fn key(&self, label: &str) -> Option<&KeySpec> {
        self.keys.iter().find(|k| k.label == label)
    }

    pub fn certificate(&self, key: &str) -> Option<&CertificateSpec> {
        self.certificates.iter().find(|c| c.key == key)
    }

    pub fn subordinate(&self, id: &str) -> Option<&SubordinateSpec> {
        self.subordinates.iter().find(|s| s.id == id)
    }

    pub fn crl(&self, id: &str) -> Option<&CrlSpec> {
        self.crls.iter().find(|c| c.id == id)
    }

    pub fn cross_certificate(&self, id: &str) -> Option<&CrossSpec> {
        self.cross_certificates.iter().find(|c| c.id == id)
    }

    pub fn ocsp_responder(&self, id: &str) -> Option<&OcspResponderSpec> {
        self.ocsp_responders.iter().find(|o| o.id == id)
    }

    /// Every file a later ceremony reads, as the script names it (relative
    /// to the inputs folder), with where the script names it.
    pub fn inputs(&self) -> Vec<(String, &std::path::Path)> {
        let mut inputs = Vec::new();
        if let Some(root) = &self.root {
            inputs.push(("root.certificate".to_string(), root.certificate.as_path()));
        }
        if let Some(restore) = &self.restore {
            inputs.push((
                "restore.certificate".to_string(),
                restore.certificate.as_path(),
            ));
            inputs.push(("restore.backup".to_string(), restore.backup.as_path()));
        }
        for (i, sub) in self.subordinates.iter().enumerate() {
            if let Some((file, csr)) = sub.input() {
                let field = if csr { "csr" } else { "public_key" };
                inputs.push((format!("subordinates[{i}].{field}"), file.as_path()));
            }
        }
        for (i, cross) in self.cross_certificates.iter().enumerate() {
            inputs.push((
                format!("cross_certificates[{i}].existing"),
                cross.existing.as_path(),
            ));
        }
        for (i, ocsp) in self.ocsp_responders.iter().enumerate() {
            if let Some((file, csr)) = ocsp.input() {
                let field = if csr { "csr" } else { "public_key" };
                inputs.push((format!("ocsp_responders[{i}].{field}"), file.as_path()));
            }
        }
        for (i, crl) in self.crls.iter().enumerate() {
            if let Some(previous) = &crl.previous {
                inputs.push((format!("crls[{i}].previous"), previous.as_path()));
            }
            for (r, revoked) in crl.revoked.iter().enumerate() {
                if let Some(cert) = &revoked.certificate {
                    inputs.push((
                        format!("crls[{i}].revoked[{r}].certificate"),
                        cert.as_path(),
                    ));
                }
            }
        }
        inputs
    }

    pub fn steps(&self) -> impl Iterator<Item = (&Act, &Step)> {
        self.acts
            .iter()
            .flat_map(|act| act.steps.iter().map(move |step| (act, step)))
    }

    pub fn is_rehearsal(&self) -> bool {
        self.ceremony.mode == Mode::Rehearsal
    }
}
