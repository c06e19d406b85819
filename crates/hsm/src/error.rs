//! The one error type of this crate.
//!
//! Messages say what went wrong and what the operator can do about it. None
//! of them ever contains a PIN: the variants simply have no field that could
//! hold one.

use std::path::PathBuf;

use cryptoki::error::{Error as CkError, RvError};

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, HsmError>;

/// Everything that can go wrong while talking to an HSM.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The module file is missing or is not a usable PKCS#11 library.
    #[error("cannot load PKCS#11 module {}: {reason}; {advice}", path.display())]
    ModuleLoad {
        /// The path as given by the caller.
        path: PathBuf,
        /// Why loading failed.
        reason: String,
        /// What to check, for the module the path names.
        advice: &'static str,
    },

    /// The module loaded but refused to start (C_Initialize failed): its own
    /// configuration or device is the problem, not the path.
    #[error(
        "PKCS#11 module {} loaded, but C_Initialize failed with {code}: {advice}",
        path.display()
    )]
    ModuleInitialize {
        /// The path as given by the caller.
        path: PathBuf,
        /// The return value's name, e.g. "CKR_GENERAL_ERROR".
        code: String,
        /// What to look at, as precisely as the module lets us tell.
        advice: String,
    },

    /// No initialized token carries the requested label.
    #[error(
        "no initialized token is labelled {label:?}; available tokens: {}; check the label or connect the right HSM",
        list_or_none(available)
    )]
    TokenNotFound {
        /// The label that was asked for.
        label: String,
        /// Labels of the initialized tokens that are present.
        available: Vec<String>,
    },

    /// No token carries the requested serial number.
    #[error(
        "no token has serial number {serial:?}; serial numbers present: {}{}; check the serial number or connect the right HSM",
        list_or_none(available),
        unserialed(*without_serial)
    )]
    TokenSerialNotFound {
        /// The serial number that was asked for.
        serial: String,
        /// Serial numbers of the tokens that are present, initialized or not.
        available: Vec<String>,
        /// Tokens that report no serial number, which no serial can select.
        without_serial: usize,
    },

    /// More than one token matches, so picking one would be a guess.
    #[error(
        "{count} tokens have {attribute} {value:?}; remove the extra tokens or re-label them so the choice is unambiguous"
    )]
    AmbiguousToken {
        /// Which token attribute was searched ("label" or "serial number").
        attribute: &'static str,
        /// The value that matched more than once.
        value: String,
        /// How many tokens matched.
        count: usize,
    },

    /// Every present token is already initialized.
    #[error("no uninitialized token is present; {advice}")]
    NoUninitializedToken {
        /// Where a free token comes from, for this module.
        advice: &'static str,
    },

    /// Re-initializing would destroy every object on the token.
    #[error(
        "token {label:?} is already initialized; refusing to re-initialize it because that would erase its keys"
    )]
    TokenAlreadyInitialized {
        /// The token's current label.
        label: String,
    },

    /// The label cannot be used for a token or key.
    #[error("label {label:?} cannot be used: {reason}")]
    InvalidLabel {
        /// The rejected label.
        label: String,
        /// Why it was rejected.
        reason: String,
    },

    /// Another initialized token already uses the label.
    #[error(
        "another initialized token is already labelled {label:?}; choose a different label so tokens can be told apart"
    )]
    LabelInUse {
        /// The duplicated label.
        label: String,
    },

    /// The token rejected the PIN.
    #[error(
        "the PIN is incorrect; enter it again carefully (repeated failures may lock the token)"
    )]
    PinIncorrect,

    /// The token refuses further PIN attempts.
    #[error(
        "the PIN is locked after too many failed attempts; the Security Officer must unlock or re-initialize it"
    )]
    PinLocked,

    /// The PIN is shorter or longer than the token accepts.
    #[error(
        "the PIN must be {} bytes long for this token; choose another PIN",
        pin_lengths(*min, *max)
    )]
    PinLength {
        /// The token's minimum PIN length.
        min: usize,
        /// The token's maximum PIN length; 0 for no upper limit.
        max: usize,
    },

    /// A second login on a session that is already logged in.
    #[error("a user is already logged in to this token; log out first")]
    AlreadyLoggedIn,

    /// The operation needs an authenticated session.
    #[error(
        "{operation} needs a logged-in user; log in first (keys with CKA_ALWAYS_AUTHENTICATE also need the PIN for each signature)"
    )]
    NotLoggedIn {
        /// The PKCS#11 function that refused.
        operation: &'static str,
    },

    /// Any other PKCS#11 return code.
    #[error("{operation} failed with {code}: {}", hint(code))]
    Pkcs11 {
        /// The PKCS#11 function that failed.
        operation: &'static str,
        /// The return value's name, e.g. "CKR_DEVICE_REMOVED".
        code: String,
    },

    /// The PKCS#11 binding itself failed before or after the module call.
    #[error("{operation} could not be carried out: {detail}")]
    Binding {
        /// The PKCS#11 function being called.
        operation: &'static str,
        /// What the binding reported.
        detail: String,
    },

    /// The token did not return an attribute the operation depends on.
    #[error(
        "the token did not return {attribute} for {object}; the HSM may not support it or the object is not what was expected"
    )]
    AttributeMissing {
        /// The missing attribute, e.g. "CKA_EC_POINT".
        attribute: String,
        /// Which object was read.
        object: String,
    },

    /// An attribute has a value this crate cannot work with.
    #[error("{attribute} of {object} is unexpected: {reason}")]
    UnexpectedAttribute {
        /// The attribute, e.g. "CKA_EC_PARAMS".
        attribute: &'static str,
        /// Which object was read.
        object: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A key exists but is of a kind the ceremony does not use.
    #[error("unsupported key {object}: {reason}; only RSA-4096 and ECC P-384 keys are supported")]
    UnsupportedKey {
        /// Which key.
        object: String,
        /// What kind of key it is.
        reason: String,
    },

    /// Objects with the key's CKA_ID already exist.
    #[error(
        "objects with key id {id} already exist on the token; use a new id or recover the existing key pair"
    )]
    KeyIdInUse {
        /// The id, hex encoded.
        id: String,
    },

    /// Several objects share a key id, so the key pair is ambiguous.
    #[error(
        "{count} {class} objects have key id {id}; the token holds an ambiguous key pair and needs inspection"
    )]
    DuplicateKeyId {
        /// The id, hex encoded.
        id: String,
        /// Which object class is duplicated.
        class: &'static str,
        /// How many objects share the id.
        count: usize,
    },

    /// One half of a key pair exists without the other.
    #[error(
        "key id {id} has a {found} key but no {missing} key; the key pair is incomplete and must not be used"
    )]
    KeyPairIncomplete {
        /// The id, hex encoded.
        id: String,
        /// The half that exists.
        found: &'static str,
        /// The half that is missing.
        missing: &'static str,
    },

    /// The operation needs the Security Officer logged in.
    #[error(
        "{operation} needs the Security Officer logged in (k of the SO PIN's custodians, CPS 6.2.2); log the SO in on this session first"
    )]
    NotSecurityOfficer {
        /// What was asked.
        operation: &'static str,
    },

    /// The token takes no trusted AES-256 wrap key by either standard route.
    #[error(
        "the token takes no trusted AES-256 wrap key: C_CreateObject with CKA_TRUSTED failed with {create}, and the import through C_UnwrapKey with {unwrap}; back the key up by the HSM's own means instead (docs/supported-modules.md)"
    )]
    WrapKeyImport {
        /// How C_CreateObject failed.
        create: String,
        /// How the import by unwrapping failed.
        unwrap: String,
    },

    /// The wrap key is not marked CKA_TRUSTED.
    #[error(
        "the wrap key {object} is not trusted ({found}): only a key the Security Officer imported with CKA_TRUSTED may wrap a key made for backup; import the wrap key again under the Security Officer's activation"
    )]
    WrapKeyNotTrusted {
        /// Which key.
        object: String,
        /// What showed it: the attribute read back, or the module's refusal.
        found: String,
    },

    /// The key may not leave its token.
    #[error(
        "{object} cannot be backed up: {reason}; only a key generated for backup (sensitive, CKA_EXTRACTABLE and CKA_WRAP_WITH_TRUSTED true) can leave its token, wrapped, so this one stays where it is"
    )]
    NotBackupKey {
        /// Which key.
        object: String,
        /// What rules it out.
        reason: String,
    },

    /// Neither RFC 5649 mechanism code is implemented.
    #[error(
        "{operation} with the RFC 5649 key wrap is not available: the token implements neither CKM_AES_KEY_WRAP_KWP (0x210B) nor CKM_AES_KEY_WRAP_PAD (0x210A) ({codes}); back the key up by the HSM's own means instead (docs/supported-modules.md)"
    )]
    NoKeyWrapMechanism {
        /// C_WrapKey or C_UnwrapKey.
        operation: &'static str,
        /// What the token answered for each code.
        codes: String,
    },

    /// The backup does not unwrap with the wrap key.
    #[error(
        "the token does not unwrap the backup with this wrap key ({code}): the wrap key rebuilt from the shares is not the one that made the backup (a share of another backup, or one not genuine: compare the wrap key's check value with the backup's record), or the backup file is damaged (compare its SHA-256 with the record), or the token failed"
    )]
    BackupUnwrap {
        /// The token's answer.
        code: String,
    },

    /// A restored key is not the original key.
    #[error("the restored key {object} is not the original: {reason}; {}", if *destroyed {
        "its objects were destroyed again; do not use this backup until the difference is explained"
    } else {
        "do not use it: destroy it (destroy-key) and find out where the backup came from"
    })]
    RestoredKeyMismatch {
        /// Which key.
        object: String,
        /// What differs.
        reason: String,
        /// Whether the restore destroyed what it had made.
        destroyed: bool,
    },

    /// Objects were still found after a destruction.
    #[error(
        "after {object} was destroyed, {count} object(s) with its {by} are still on the token; re-initialise the token under dual control (CPS 6.2.10) and search it again"
    )]
    KeyStillPresent {
        /// Which key.
        object: String,
        /// "CKA_ID" or "CKA_LABEL".
        by: &'static str,
        /// How many were found.
        count: usize,
    },

    /// The token refuses to destroy an object.
    #[error(
        "the token refuses to destroy {object} ({code}): it may be marked CKA_DESTROYABLE false; destroy it by re-initialising the token under dual control (CPS 6.2.10)"
    )]
    DestroyRefused {
        /// Which object.
        object: String,
        /// The token's answer.
        code: String,
    },

    /// A lab cannot keep this module's tokens inside its folder.
    #[error("a lab cannot keep the tokens of {} inside {}: {reason}", module.display(), dir.display())]
    LabModule {
        /// The module's path as given.
        module: PathBuf,
        /// The lab's folder.
        dir: PathBuf,
        /// Why not.
        reason: String,
    },

    /// The lab's folder or configuration could not be written.
    #[error("cannot make the lab in {}: {source}", dir.display())]
    LabFiles {
        /// The lab's folder.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },

    /// The caller passed something that cannot be sent to a token.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// DER encoding of a public key failed.
    #[error("cannot encode the public key as DER: {0}")]
    Encoding(String),

    /// The token returned data of the wrong shape.
    #[error("the token returned an unexpected result from {operation}: {reason}")]
    UnexpectedResult {
        /// The PKCS#11 function.
        operation: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl HsmError {
    /// Maps a cryptoki error from `operation` to the variant an operator can act on.
    pub(crate) fn from_cryptoki(operation: &'static str, error: CkError) -> Self {
        match error {
            CkError::Pkcs11(rv, _) => match rv {
                RvError::PinIncorrect => HsmError::PinIncorrect,
                RvError::PinLocked => HsmError::PinLocked,
                RvError::UserAlreadyLoggedIn => HsmError::AlreadyLoggedIn,
                RvError::UserNotLoggedIn => HsmError::NotLoggedIn { operation },
                other => HsmError::Pkcs11 {
                    operation,
                    code: rv_name(other),
                },
            },
            other => HsmError::Binding {
                operation,
                detail: other.to_string(),
            },
        }
    }
}

/// Returns a closure for `map_err` that tags a cryptoki error with `operation`.
pub(crate) fn ck(operation: &'static str) -> impl FnOnce(CkError) -> HsmError {
    move |error| HsmError::from_cryptoki(operation, error)
}

/// The `CKR_*` name of a return value.
///
/// cryptoki names its variants after the constants in CamelCase, so the
/// constant's name is recovered mechanically instead of through a table that
/// would silently fall behind new cryptoki versions.
pub(crate) fn rv_name(rv: RvError) -> String {
    match rv {
        RvError::VendorDefined(code) => format!("CKR_VENDOR_DEFINED+{code:#x}"),
        RvError::UnknownErrorCode(code) => format!("unknown return value {code:#x}"),
        other => {
            let camel = format!("{other:?}");
            let mut name = String::from("CKR");
            for c in camel.chars() {
                if c.is_ascii_uppercase() {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            name
        }
    }
}

/// A token's PIN length limits in words; a maximum of 0 is no limit.
pub(crate) fn pin_lengths(min: usize, max: usize) -> String {
    if max == 0 {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    }
}

fn unserialed(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => " (1 token reports no serial number: soft tokens get theirs only when initialized, so no serial selects it)".to_owned(),
        n => format!(" ({n} tokens report no serial number: soft tokens get theirs only when initialized, so no serial selects them)"),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items
            .iter()
            .map(|item| format!("{item:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What an operator should try for the return codes seen in practice.
fn hint(code: &str) -> &'static str {
    match code {
        "CKR_DEVICE_REMOVED" | "CKR_TOKEN_NOT_PRESENT" => {
            "the token was removed; reconnect it and start the step again"
        }
        "CKR_DEVICE_ERROR" | "CKR_GENERAL_ERROR" => {
            "the HSM reported an internal fault; check its status and logs before retrying"
        }
        "CKR_SESSION_HANDLE_INVALID" | "CKR_SESSION_CLOSED" => {
            "the session was closed; open a new session and log in again"
        }
        "CKR_MECHANISM_INVALID" => "the token does not support the required mechanism",
        "CKR_OBJECT_HANDLE_INVALID" | "CKR_KEY_HANDLE_INVALID" => {
            "the object is gone, or its handle dates from before a login change (a module may renumber private objects then); find the key again by its id"
        }
        "CKR_KEY_FUNCTION_NOT_PERMITTED" => "the key's attributes do not allow this use",
        "CKR_TOKEN_WRITE_PROTECTED" => "the token is write-protected",
        "CKR_USER_PIN_NOT_INITIALIZED" => {
            "the user PIN has not been set; the Security Officer must initialize it"
        }
        "CKR_USER_ANOTHER_ALREADY_LOGGED_IN" => {
            "another user type is logged in to this token; log that user out first"
        }
        _ => "see the HSM documentation for this return code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rv_names_match_pkcs11_constants() {
        assert_eq!(rv_name(RvError::DeviceRemoved), "CKR_DEVICE_REMOVED");
        assert_eq!(rv_name(RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            rv_name(RvError::SessionReadWriteSoExists),
            "CKR_SESSION_READ_WRITE_SO_EXISTS"
        );
        assert_eq!(rv_name(RvError::RandomNoRng), "CKR_RANDOM_NO_RNG");
        assert_eq!(
            rv_name(RvError::VendorDefined(0x8000_0001)),
            "CKR_VENDOR_DEFINED+0x80000001"
        );
    }

    #[test]
    fn pin_errors_map_to_dedicated_variants() {
        use cryptoki::context::Function;
        let err = HsmError::from_cryptoki(
            "C_Login",
            CkError::Pkcs11(RvError::PinIncorrect, Function::Login),
        );
        assert!(matches!(err, HsmError::PinIncorrect));
        let err = HsmError::from_cryptoki(
            "C_Login",
            CkError::Pkcs11(RvError::DeviceRemoved, Function::Login),
        );
        assert_eq!(
            err.to_string(),
            "C_Login failed with CKR_DEVICE_REMOVED: the token was removed; reconnect it and start the step again"
        );
    }

    #[test]
    fn token_not_found_lists_labels() {
        let err = HsmError::TokenNotFound {
            label: "Root".into(),
            available: vec!["Other".into(), "Spare".into()],
        };
        let text = err.to_string();
        assert!(text.contains("\"Root\""), "{text}");
        assert!(text.contains("\"Other\", \"Spare\""), "{text}");
    }
}
