//! What a module and one of its tokens offer a ceremony, found without
//! changing the token: the day before a ceremony, on the real HSM.
//!
//! Everything here only reads (C_GetTokenInfo, C_GetMechanismList,
//! C_GetMechanismInfo, C_GenerateRandom in a read-only public session),
//! except one P-384 key pair made as session objects (CKA_TOKEN false) with
//! the ceremony's templates, so that the attributes the token gives a key can
//! be read back: the token discards it when the probe's session closes.

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{MechanismInfo, MechanismType};
use cryptoki::object::Attribute;

use crate::error::{Result, ck};
use crate::keys::{KeyAlgorithm, KeyGenSpec, KeyPair, RSA_BITS};
use crate::module::{ModuleInfo, Token, TokenInfo};
use crate::raw::ulong_to_u64;
use crate::session::Session;

/// PKCS#11 3.2's CKR_TOKEN_NOT_INITIALIZED, which kryoptic answers
/// C_GetMechanismList with for an uninitialised token (cryptoki 0.12 has no
/// name for it).
const CKR_TOKEN_NOT_INITIALIZED: cryptoki_sys::CK_RV = 0x208;

/// Bits of a P-384 key, as C_GetMechanismInfo gives EC key sizes.
const P384_BITS: usize = 384;

/// How one thing the ceremony needs stands on this token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// There, and what the ceremony would use.
    Ready,
    /// Missing or unusable: a ceremony could not run, for this reason.
    Lacking(String),
    /// Could not be found out without changing the token: a ceremony
    /// might not run, for this reason.
    Unconfirmed(String),
    /// Cannot be probed without changing the token or knowing its PINs;
    /// the ceremony checks it itself and stops if it is wrong.
    CheckedByCeremony(String),
}

/// One row of the probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What the ceremony needs.
    pub need: &'static str,
    /// What the token shows.
    pub found: String,
    /// What the ceremony would use.
    pub uses: String,
    /// Whether that is enough.
    pub verdict: Verdict,
}

/// Everything a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// C_GetInfo.
    pub module: ModuleInfo,
    /// The token probed, as it was before the probe.
    pub token: TokenInfo,
    /// One row per thing the ceremony needs.
    pub checks: Vec<Check>,
}

impl Probe {
    /// Why a ceremony could not run, or might not, on this token; empty when
    /// it could.
    pub fn problems(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter_map(|check| match &check.verdict {
                Verdict::Lacking(reason) => Some(format!("{}: {reason}", check.need)),
                Verdict::Unconfirmed(reason) => {
                    Some(format!("{}: not confirmed: {reason}", check.need))
                }
                Verdict::Ready | Verdict::CheckedByCeremony(_) => None,
            })
            .collect()
    }
}

fn check(need: &'static str, found: String, uses: impl Into<String>, verdict: Verdict) -> Check {
    Check {
        need,
        found,
        uses: uses.into(),
        verdict,
    }
}

impl Token {
    /// Probes this token for everything a ceremony needs, for PINs of
    /// `pin_len` bytes (the tool's). An uninitialised token is the one a
    /// ceremony would initialise; an initialised one is taken as it is.
    pub fn probe(&self, pin_len: usize) -> Result<Probe> {
        let module = self.module().info()?;
        let token = self.info()?;
        let mut checks = vec![state(&token), pin_lengths(&token, pin_len)];
        checks.push(self.random_generator(&token)?);
        match self.module().ctx().get_mechanism_list(self.slot()) {
            Ok(mechanisms) => checks.extend(self.mechanisms(&mechanisms)?),
            Err(CkError::Pkcs11(RvError::UnknownErrorCode(CKR_TOKEN_NOT_INITIALIZED), _)) => {
                checks.push(check(
                    "mechanisms",
                    "not listed: the token answers CKR_TOKEN_NOT_INITIALIZED".to_owned(),
                    "-",
                    Verdict::Unconfirmed(
                        "this token lists its mechanisms only once initialised; probe an initialised token of the same module and model with --token LABEL".to_owned(),
                    ),
                ));
            }
            Err(e) => return Err(ck("C_GetMechanismList")(e)),
        }
        if token.flags.initialized {
            checks.push(self.key_attributes()?);
        } else {
            checks.push(check(
                "key attributes (CPS 6.2.7)",
                "not probed: an uninitialised token holds no objects".to_owned(),
                "read back from every key the ceremony makes",
                Verdict::CheckedByCeremony(
                    "the ceremony reads every key's attributes back and stops on a wrong one"
                        .to_owned(),
                ),
            ));
        }
        checks.push(context_login(&module));
        Ok(Probe {
            module,
            token,
            checks,
        })
    }

    fn random_generator(&self, token: &TokenInfo) -> Result<Check> {
        let need = "random generator";
        let uses = "C_GenerateRandom for the SO and user PINs (CPS 6.1.1)";
        if !token.flags.rng {
            return Ok(check(
                need,
                "CKF_RNG not set".to_owned(),
                uses,
                Verdict::Lacking(
                    "the token has no random generator of its own; the PINs come from it"
                        .to_owned(),
                ),
            ));
        }
        if !token.flags.initialized {
            return Ok(check(
                need,
                "CKF_RNG set (drawn from at initialisation; an uninitialised token opens no session)"
                    .to_owned(),
                uses,
                Verdict::Ready,
            ));
        }
        let session = self.open_read_only_session()?;
        let drawn = (session.random(32), session.random(32));
        session.close()?;
        Ok(match drawn {
            (Ok(a), Ok(b)) if a.len() == 32 && a != b => check(
                need,
                "CKF_RNG set; C_GenerateRandom gave 2 x 32 different bytes".to_owned(),
                uses,
                Verdict::Ready,
            ),
            (Ok(_), Ok(_)) => check(
                need,
                "C_GenerateRandom gave the same bytes twice".to_owned(),
                uses,
                Verdict::Lacking("the token's generator repeats itself".to_owned()),
            ),
            (Err(e), _) | (_, Err(e)) => check(
                need,
                format!("CKF_RNG set; C_GenerateRandom failed: {e}"),
                uses,
                Verdict::Lacking("the token's generator does not answer".to_owned()),
            ),
        })
    }

    fn mechanisms(&self, listed: &[MechanismType]) -> Result<Vec<Check>> {
        let info = |mechanism: MechanismType| -> Result<Option<MechanismInfo>> {
            if !listed.contains(&mechanism) {
                return Ok(None);
            }
            self.module()
                .ctx()
                .get_mechanism_info(self.slot(), mechanism)
                .map(Some)
                .map_err(ck("C_GetMechanismInfo"))
        };
        let generation = |need, mechanism, bits: usize, uses: &str| -> Result<Check> {
            let found = info(mechanism)?;
            Ok(match found {
                None => check(need, "not listed".to_owned(), uses, lacking(mechanism)),
                Some(i) if !i.generate_key_pair() => check(
                    need,
                    format!("{mechanism} listed without CKF_GENERATE_KEY_PAIR"),
                    uses,
                    lacking(mechanism),
                ),
                Some(i) if !sizes_cover(&i, bits) => check(
                    need,
                    format!("{mechanism}, key sizes {}", sizes(&i)),
                    uses,
                    Verdict::Lacking(format!("{bits}-bit keys are outside its key sizes")),
                ),
                Some(i) => check(
                    need,
                    format!("{mechanism}, key sizes {}", sizes(&i)),
                    uses,
                    Verdict::Ready,
                ),
            })
        };
        let signs = |mechanism| -> Result<Option<MechanismInfo>> {
            Ok(info(mechanism)?.filter(MechanismInfo::sign))
        };
        let rsa_signature = match (
            signs(MechanismType::SHA384_RSA_PKCS)?,
            signs(MechanismType::RSA_PKCS)?,
        ) {
            (Some(i), _) => check(
                "RSA-4096 signature",
                format!("CKM_SHA384_RSA_PKCS, key sizes {}", sizes(&i)),
                "CKM_SHA384_RSA_PKCS",
                if sizes_cover(&i, RSA_BITS as usize) {
                    Verdict::Ready
                } else {
                    Verdict::Lacking("4096-bit keys are outside its key sizes".to_owned())
                },
            ),
            (None, Some(_)) => check(
                "RSA-4096 signature",
                "CKM_RSA_PKCS only".to_owned(),
                "CKM_SHA384_RSA_PKCS",
                Verdict::Lacking(
                    "the tool signs RSA with CKM_SHA384_RSA_PKCS, which the token lacks".to_owned(),
                ),
            ),
            (None, None) => check(
                "RSA-4096 signature",
                "neither CKM_SHA384_RSA_PKCS nor CKM_RSA_PKCS".to_owned(),
                "CKM_SHA384_RSA_PKCS",
                lacking(MechanismType::SHA384_RSA_PKCS),
            ),
        };
        let ecdsa = match (
            signs(MechanismType::ECDSA_SHA384)?,
            signs(MechanismType::ECDSA)?,
        ) {
            (Some(_), _) => check(
                "P-384 signature",
                "CKM_ECDSA_SHA384".to_owned(),
                "CKM_ECDSA_SHA384 (SHA-384 on the token)",
                Verdict::Ready,
            ),
            (None, Some(_)) => check(
                "P-384 signature",
                "CKM_ECDSA (no CKM_ECDSA_SHA384)".to_owned(),
                "CKM_ECDSA, SHA-384 computed by the tool",
                Verdict::Ready,
            ),
            (None, None) => check(
                "P-384 signature",
                "neither CKM_ECDSA_SHA384 nor CKM_ECDSA".to_owned(),
                "CKM_ECDSA_SHA384 or CKM_ECDSA",
                lacking(MechanismType::ECDSA),
            ),
        };
        Ok(vec![
            generation(
                "RSA-4096 key generation",
                MechanismType::RSA_PKCS_KEY_PAIR_GEN,
                RSA_BITS as usize,
                "CKM_RSA_PKCS_KEY_PAIR_GEN, 4096 bits, exponent 65537",
            )?,
            rsa_signature,
            generation(
                "P-384 key generation",
                MechanismType::ECC_KEY_PAIR_GEN,
                P384_BITS,
                "CKM_EC_KEY_PAIR_GEN on secp384r1 (root keys, the log-signing key)",
            )?,
            ecdsa,
        ])
    }

    /// Makes a P-384 key pair as session objects with the ceremony's
    /// templates (public ones, as no one is logged in) and reads back what
    /// the token made of them; closing the session discards it.
    fn key_attributes(&self) -> Result<Check> {
        let need = "key attributes (CPS 6.2.7)";
        let uses = "sensitive, never extractable, generated on the token, sign only";
        let spec = KeyGenSpec {
            algorithm: KeyAlgorithm::EcP384,
            label: "keyceremony module check".to_owned(),
            id: b"keyceremony-probe".to_vec(),
            always_authenticate: false,
        };
        let session_objects = |template: Vec<Attribute>| -> Vec<Attribute> {
            template
                .into_iter()
                .map(|attribute| match attribute {
                    Attribute::Token(_) => Attribute::Token(false),
                    Attribute::Private(_) => Attribute::Private(false),
                    other => other,
                })
                .collect()
        };
        let inner = self.read_only_session()?;
        let made = inner.generate_key_pair(
            &spec.mechanism(),
            &session_objects(spec.public_template()),
            &session_objects(spec.private_template()),
        );
        let session = Session::new(self.module().clone(), self.slot(), inner);
        let row = match made {
            Err(e) => check(
                need,
                format!(
                    "no session key without a login ({})",
                    ck("C_GenerateKeyPair")(e)
                ),
                uses,
                Verdict::CheckedByCeremony(
                    "the ceremony reads every key's attributes back and stops on a wrong one"
                        .to_owned(),
                ),
            ),
            Ok((public, private)) => {
                let pair = KeyPair {
                    public: ulong_to_u64(public.handle()),
                    private: ulong_to_u64(private.handle()),
                    label: spec.label.clone(),
                    id: spec.id.clone(),
                    algorithm: spec.algorithm,
                };
                let attributes = session.private_key_attributes(&pair)?;
                // A session key is neither on the token nor private: the
                // probe asked for that, a ceremony's key asks otherwise.
                let problems: Vec<String> = attributes
                    .problems(false)
                    .into_iter()
                    .filter(|p| !p.starts_with("CKA_TOKEN ") && !p.starts_with("CKA_PRIVATE "))
                    .collect();
                if problems.is_empty() {
                    check(
                        need,
                        "a P-384 session key made with the ceremony's templates has them all"
                            .to_owned(),
                        uses,
                        Verdict::Ready,
                    )
                } else {
                    check(
                        need,
                        "a P-384 session key made with the ceremony's templates".to_owned(),
                        uses,
                        Verdict::Lacking(problems.join("; ")),
                    )
                }
            }
        };
        session.close()?;
        Ok(row)
    }

    fn read_only_session(&self) -> Result<cryptoki::session::Session> {
        self.module()
            .ctx()
            .open_ro_session(self.slot())
            .map_err(ck("C_OpenSession"))
    }

    fn open_read_only_session(&self) -> Result<Session> {
        let inner = self.read_only_session()?;
        Ok(Session::new(self.module().clone(), self.slot(), inner))
    }
}

fn state(token: &TokenInfo) -> Check {
    let flags = token.flags;
    let need = "token state";
    let mut found = vec![if flags.initialized {
        format!("initialised as '{}', serial {}", token.label, token.serial)
    } else {
        "not initialised".to_owned()
    }];
    let mut lacking = Vec::new();
    if flags.write_protected {
        found.push("write-protected".to_owned());
        lacking.push("the token is write-protected: no key can be stored");
    }
    if flags.initialized && !flags.user_pin_initialized {
        found.push("no user PIN".to_owned());
        lacking.push("its user PIN is not set, so no one can log in to use it");
    }
    for (set, name, why) in [
        (
            flags.user_pin_locked,
            "user PIN locked",
            "its user PIN is locked",
        ),
        (flags.so_pin_locked, "SO PIN locked", "its SO PIN is locked"),
        (
            flags.user_pin_final_try,
            "user PIN on its final try",
            "one wrong user PIN would lock it",
        ),
        (
            flags.so_pin_final_try,
            "SO PIN on its final try",
            "one wrong SO PIN would lock it",
        ),
    ] {
        if set && flags.initialized {
            found.push(name.to_owned());
            lacking.push(why);
        }
    }
    if flags.user_pin_count_low && flags.initialized {
        found.push("user PIN count low (a wrong PIN was entered)".to_owned());
    }
    let uses = if flags.initialized {
        "taken as it is (hsm.initialize = false)"
    } else {
        "initialised by the ceremony (C_InitToken)"
    };
    let verdict = if lacking.is_empty() {
        Verdict::Ready
    } else {
        Verdict::Lacking(lacking.join("; "))
    };
    check(need, found.join(", "), uses, verdict)
}

fn pin_lengths(token: &TokenInfo, pin_len: usize) -> Check {
    let found = format!(
        "{} bytes",
        crate::error::pin_lengths(token.min_pin_len, token.max_pin_len)
    );
    let uses = format!("{pin_len}-byte PINs (160 random bits, base32)");
    let verdict = if token.accepts_pin_length(pin_len) {
        Verdict::Ready
    } else {
        Verdict::Lacking(format!(
            "the token cannot hold the tool's {pin_len}-byte SO and user PINs"
        ))
    };
    check("PIN lengths", found, uses, verdict)
}

fn context_login(module: &ModuleInfo) -> Check {
    let need = "CKA_ALWAYS_AUTHENTICATE, context-specific login";
    let found = format!("PKCS#11 {}", module.cryptoki_version);
    let uses = "a PIN entry for every CA signature (CKU_CONTEXT_SPECIFIC)";
    // CKU_CONTEXT_SPECIFIC came with PKCS#11 2.20.
    let supported = module
        .cryptoki_version
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)))
        .is_some_and(|version| version >= (2, 20));
    let verdict = if supported {
        Verdict::CheckedByCeremony(
            "needs a private key and the user PIN to try; the ceremony reads the attribute back from every key and asks the custodians for each signature"
                .to_owned(),
        )
    } else {
        Verdict::Lacking("context-specific login needs PKCS#11 2.20 or later".to_owned())
    };
    check(need, found, uses, verdict)
}

fn lacking(mechanism: MechanismType) -> Verdict {
    Verdict::Lacking(format!("the token does not offer {mechanism}"))
}

fn sizes_cover(info: &MechanismInfo, bits: usize) -> bool {
    // Some tokens leave the sizes at 0 when they do not apply.
    (info.min_key_size() == 0 && info.max_key_size() == 0)
        || (info.min_key_size()..=info.max_key_size()).contains(&bits)
}

fn sizes(info: &MechanismInfo) -> String {
    format!("{}-{}", info.min_key_size(), info.max_key_size())
}
