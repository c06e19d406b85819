//! Loading a PKCS#11 module once per process, and finding its tokens.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::slot::Slot;
use secrecy::SecretString;

use crate::error::{HsmError, Result, ck, rv_name};
use crate::raw::RawSign;
use crate::raw_wrap::RawWrap;
use crate::session::Session;
use crate::uri::Pkcs11Uri;

/// Longest label PKCS#11 can store (CK_TOKEN_INFO.label is 32 bytes).
const MAX_TOKEN_LABEL_BYTES: usize = 32;

/// A module loaded and initialized exactly once for the whole process.
struct Loaded {
    ctx: Pkcs11,
    raw_sign: RawSign,
    raw_wrap: RawWrap,
}

/// Every module this process has loaded, by canonical path. SoftHSM2's
/// `C_Initialize` is not safe to call twice, so a second `Module::load` of
/// the same file must reuse the first context.
fn loaded_modules() -> &'static Mutex<HashMap<PathBuf, Arc<Loaded>>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Arc<Loaded>>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// A loaded and initialized PKCS#11 module. Cheap to clone; all clones share
/// one context.
#[derive(Clone)]
pub struct Module {
    path: PathBuf,
    loaded: Arc<Loaded>,
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module").field("path", &self.path).finish()
    }
}

/// What the module says about itself (C_GetInfo), for the ceremony record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The library vendor.
    pub manufacturer: String,
    /// The library's own description.
    pub library_description: String,
    /// The library version, "major.minor"; "0.0 (not reported)" when the
    /// module leaves it at 0.0, as kryoptic does (its release is then in its
    /// tokens' firmware version), so that no record claims a version 0.0.
    pub library_version: String,
    /// The PKCS#11 version the library implements, "major.minor".
    pub cryptoki_version: String,
}

/// The token flags that matter to a ceremony, as plain booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenFlags {
    /// CKF_TOKEN_INITIALIZED.
    pub initialized: bool,
    /// CKF_LOGIN_REQUIRED.
    pub login_required: bool,
    /// CKF_USER_PIN_INITIALIZED.
    pub user_pin_initialized: bool,
    /// CKF_RNG: the token has its own random number generator.
    pub rng: bool,
    /// CKF_WRITE_PROTECTED.
    pub write_protected: bool,
    /// CKF_USER_PIN_COUNT_LOW: a wrong user PIN was entered recently.
    pub user_pin_count_low: bool,
    /// CKF_USER_PIN_FINAL_TRY: one more wrong user PIN locks it.
    pub user_pin_final_try: bool,
    /// CKF_USER_PIN_LOCKED.
    pub user_pin_locked: bool,
    /// CKF_USER_PIN_TO_BE_CHANGED.
    pub user_pin_to_be_changed: bool,
    /// CKF_SO_PIN_COUNT_LOW: a wrong SO PIN was entered recently.
    pub so_pin_count_low: bool,
    /// CKF_SO_PIN_FINAL_TRY: one more wrong SO PIN locks it.
    pub so_pin_final_try: bool,
    /// CKF_SO_PIN_LOCKED.
    pub so_pin_locked: bool,
}

/// A snapshot of C_GetTokenInfo; strings are trimmed of PKCS#11's space padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The slot the token is in. SoftHSM2 renumbers slots on initialization,
    /// so this identifies the token only until then.
    pub slot_id: u64,
    /// The token label (empty for an uninitialized token).
    pub label: String,
    /// The token vendor.
    pub manufacturer: String,
    /// The token model.
    pub model: String,
    /// The token serial number.
    pub serial: String,
    /// Hardware version, "major.minor".
    pub hardware_version: String,
    /// Firmware version, "major.minor".
    pub firmware_version: String,
    /// Token state flags.
    pub flags: TokenFlags,
    /// Shortest PIN the token accepts.
    pub min_pin_len: usize,
    /// Longest PIN the token accepts; 0 means no upper limit (kryoptic
    /// reports CK_EFFECTIVELY_INFINITE, which is 0).
    pub max_pin_len: usize,
}

/// A token in a slot of a loaded module.
#[derive(Clone)]
pub struct Token {
    module: Module,
    slot: Slot,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("module", &self.module.path)
            .field("slot_id", &self.slot.id())
            .finish()
    }
}

impl Module {
    /// Loads and initializes the module at `path`, or returns the context
    /// this process already has for the same file (compared after resolving
    /// symlinks), because initializing a module twice is not safe.
    pub fn load(path: &Path) -> Result<Module> {
        let load_error = |reason: String| HsmError::ModuleLoad {
            path: path.to_path_buf(),
            reason,
            advice: crate::lab::ModuleKind::of(path).load_advice(),
        };
        if !path.exists() {
            return Err(load_error("the file does not exist".to_owned()));
        }
        let canonical = std::fs::canonicalize(path)
            .map_err(|e| load_error(format!("cannot resolve the path: {e}")))?;
        if !canonical.is_file() {
            return Err(load_error("it is not a regular file".to_owned()));
        }

        let mut modules = loaded_modules()
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(loaded) = modules.get(&canonical) {
            return Ok(Module {
                path: canonical,
                loaded: Arc::clone(loaded),
            });
        }

        let ctx = Pkcs11::new(&canonical).map_err(|e| load_error(describe_load_error(e)))?;
        let raw_sign = RawSign::load(&canonical).map_err(load_error)?;
        let raw_wrap = RawWrap::load(&canonical).map_err(load_error)?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Another component of this process initialized the module
            // without going through this cache; its context is usable.
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => {
                return Err(HsmError::ModuleInitialize {
                    path: path.to_path_buf(),
                    code: code_of(e),
                    advice: crate::lab::initialize_advice(&canonical),
                });
            }
        }

        let loaded = Arc::new(Loaded {
            ctx,
            raw_sign,
            raw_wrap,
        });
        modules.insert(canonical.clone(), Arc::clone(&loaded));
        Ok(Module {
            path: canonical,
            loaded,
        })
    }

    /// Whether this process has already loaded (and so initialized) the
    /// module at `path`: it then keeps the configuration it read at the time.
    pub fn is_loaded(path: &Path) -> bool {
        let Ok(canonical) = std::fs::canonicalize(path) else {
            return false;
        };
        loaded_modules()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&canonical)
    }

    /// The resolved path the module was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn ctx(&self) -> &Pkcs11 {
        &self.loaded.ctx
    }

    pub(crate) fn raw_sign(&self) -> &RawSign {
        &self.loaded.raw_sign
    }

    pub(crate) fn raw_wrap(&self) -> &RawWrap {
        &self.loaded.raw_wrap
    }

    /// Library information for the ceremony record.
    pub fn info(&self) -> Result<ModuleInfo> {
        let info = self.ctx().get_library_info().map_err(ck("C_GetInfo"))?;
        Ok(ModuleInfo {
            manufacturer: info.manufacturer_id().trim_end().to_owned(),
            library_description: info.library_description().trim_end().to_owned(),
            library_version: version_text(info.library_version()),
            cryptoki_version: info.cryptoki_version().to_string(),
        })
    }

    /// Every slot that holds a token, initialized or not.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.ctx()
            .get_slots_with_token()
            .map_err(ck("C_GetSlotList"))?
            .into_iter()
            .map(|slot| self.token_info(slot))
            .collect()
    }

    /// Every slot's id and description (C_GetSlotInfo), tokens or not.
    pub fn slot_descriptions(&self) -> Result<Vec<(u64, String)>> {
        self.ctx()
            .get_all_slots()
            .map_err(ck("C_GetSlotList"))?
            .into_iter()
            .map(|slot| {
                let info = self
                    .ctx()
                    .get_slot_info(slot)
                    .map_err(ck("C_GetSlotInfo"))?;
                Ok((slot.id(), info.slot_description().trim_end().to_owned()))
            })
            .collect()
    }

    /// The one initialized token with this label.
    pub fn token_by_label(&self, label: &str) -> Result<Token> {
        let initialized = self.initialized_tokens()?;
        let matches: Vec<&TokenInfo> = initialized.iter().filter(|t| t.label == label).collect();
        match matches.as_slice() {
            [] => Err(HsmError::TokenNotFound {
                label: label.to_owned(),
                available: initialized.iter().map(|t| t.label.clone()).collect(),
            }),
            [only] => self.token_in_slot(only.slot_id),
            many => Err(HsmError::AmbiguousToken {
                attribute: "label",
                value: label.to_owned(),
                count: many.len(),
            }),
        }
    }

    /// The one token with this serial number, initialized or not, so that
    /// a serial can pick the token a ceremony initializes. Tokens that
    /// report no serial number (soft tokens before initialization: SoftHSM2
    /// and kryoptic give a token its serial in C_InitToken) are never
    /// selected by one.
    pub fn token_by_serial(&self, serial: &str) -> Result<Token> {
        let tokens = self.tokens()?;
        let found = crate::token_info::find_by_serial(&tokens, serial)?;
        self.token_in_slot(found.slot_id)
    }

    /// A present token that has not been initialized yet (the lowest slot
    /// if there are several), ready for [`Token::initialize`].
    pub fn uninitialized_token(&self) -> Result<Token> {
        let free = self
            .tokens()?
            .into_iter()
            .filter(|t| !t.flags.initialized)
            .min_by_key(|t| t.slot_id)
            .ok_or_else(|| HsmError::NoUninitializedToken {
                advice: crate::lab::ModuleKind::of(&self.path).free_token_advice(),
            })?;
        self.token_in_slot(free.slot_id)
    }

    fn initialized_tokens(&self) -> Result<Vec<TokenInfo>> {
        Ok(self
            .tokens()?
            .into_iter()
            .filter(|t| t.flags.initialized)
            .collect())
    }

    fn token_in_slot(&self, slot_id: u64) -> Result<Token> {
        let slot = Slot::try_from(slot_id).map_err(ck("C_GetSlotList"))?;
        Ok(Token {
            module: self.clone(),
            slot,
        })
    }

    pub(crate) fn token_info(&self, slot: Slot) -> Result<TokenInfo> {
        let info = self
            .ctx()
            .get_token_info(slot)
            .map_err(ck("C_GetTokenInfo"))?;
        Ok(TokenInfo {
            slot_id: slot.id(),
            label: info.label().trim_end().to_owned(),
            manufacturer: info.manufacturer_id().trim_end().to_owned(),
            model: info.model().trim_end().to_owned(),
            serial: info.serial_number().trim_end().to_owned(),
            hardware_version: info.hardware_version().to_string(),
            firmware_version: info.firmware_version().to_string(),
            flags: TokenFlags {
                initialized: info.token_initialized(),
                login_required: info.login_required(),
                user_pin_initialized: info.user_pin_initialized(),
                rng: info.rng(),
                write_protected: info.write_protected(),
                user_pin_count_low: info.user_pin_count_low(),
                user_pin_final_try: info.user_pin_final_try(),
                user_pin_locked: info.user_pin_locked(),
                user_pin_to_be_changed: info.user_pin_to_be_changed(),
                so_pin_count_low: info.so_pin_count_low(),
                so_pin_final_try: info.so_pin_final_try(),
                so_pin_locked: info.so_pin_locked(),
            },
            min_pin_len: info.min_pin_length(),
            max_pin_len: info.max_pin_length(),
        })
    }
}

/// "major.minor", or a plain statement that the module reports none.
fn version_text(version: cryptoki::types::Version) -> String {
    let text = version.to_string();
    if text == "0.0" {
        "0.0 (not reported)".to_owned()
    } else {
        text
    }
}

impl Token {
    /// Fresh token information; re-read on every call because flags such as
    /// CKF_USER_PIN_COUNT_LOW change after failed logins.
    pub fn info(&self) -> Result<TokenInfo> {
        self.module.token_info(self.slot)
    }

    /// An RFC 7512 URI naming this token (token, manufacturer, model, serial).
    pub fn uri(&self) -> Result<Pkcs11Uri> {
        let info = self.info()?;
        Ok(Pkcs11Uri {
            token: Some(info.label),
            manufacturer: Some(info.manufacturer),
            model: Some(info.model),
            serial: Some(info.serial),
            ..Pkcs11Uri::default()
        })
    }

    /// Initializes this (uninitialized) token with an SO PIN and label and
    /// returns it as found again by that label, because SoftHSM2 moves a
    /// freshly initialized token to a new slot.
    ///
    /// Refuses an already initialized token (re-initializing erases every
    /// key on it) and a label another token already has (later look-ups by
    /// label would be ambiguous). Callers that initialize tokens from several
    /// threads must serialise this with [`Module::uninitialized_token`].
    pub fn initialize(&self, so_pin: &SecretString, label: &str) -> Result<Token> {
        validate_token_label(label)?;
        let info = self.info()?;
        if info.flags.initialized {
            return Err(HsmError::TokenAlreadyInitialized { label: info.label });
        }
        info.check_pin_length(so_pin)?;
        self.init_token(&info, so_pin, label)
    }

    /// Re-initialises this (initialised) token: C_InitToken with its
    /// current SO PIN, which the token checks, erases every object on it
    /// and leaves it labelled `label`, its user PIN uninitialised
    /// (PKCS#11 v2.40 section 5.6, C_InitToken). No session of this
    /// application may be open on it. Returns it as found again by `label`.
    pub fn reinitialize(&self, so_pin: &SecretString, label: &str) -> Result<Token> {
        validate_token_label(label)?;
        let info = self.info()?;
        if !info.flags.initialized {
            return Err(HsmError::InvalidArgument(format!(
                "the token with serial {} is not initialised: there is nothing to re-initialise",
                info.serial.trim()
            )));
        }
        self.init_token(&info, so_pin, label)
    }

    /// C_InitToken as `label`, which no other token may have (later
    /// look-ups by label would be ambiguous); the token found again by it.
    fn init_token(&self, info: &TokenInfo, so_pin: &SecretString, label: &str) -> Result<Token> {
        if self
            .module
            .initialized_tokens()?
            .iter()
            .any(|t| t.label == label && t.serial != info.serial)
        {
            return Err(HsmError::LabelInUse {
                label: label.to_owned(),
            });
        }
        self.module
            .ctx()
            .init_token(self.slot, so_pin, label)
            .map_err(ck("C_InitToken"))?;
        self.module.token_by_label(label)
    }

    pub(crate) fn module(&self) -> &Module {
        &self.module
    }

    pub(crate) fn slot(&self) -> Slot {
        self.slot
    }

    /// Opens a read/write session, which key generation needs.
    pub fn open_session(&self) -> Result<Session> {
        let session = self
            .module
            .ctx()
            .open_rw_session(self.slot)
            .map_err(ck("C_OpenSession"))?;
        Ok(Session::new(self.module.clone(), self.slot, session))
    }
}

fn validate_token_label(label: &str) -> Result<()> {
    let invalid = |reason: &str| {
        Err(HsmError::InvalidLabel {
            label: label.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if label.is_empty() {
        return invalid("it is empty; a token needs a label to be found again");
    }
    if label.len() > MAX_TOKEN_LABEL_BYTES {
        return invalid(&format!(
            "it is {} bytes long; PKCS#11 token labels hold at most {MAX_TOKEN_LABEL_BYTES} bytes",
            label.len()
        ));
    }
    if label.trim() != label {
        return invalid(
            "it starts or ends with whitespace, which PKCS#11 padding would make ambiguous",
        );
    }
    if label.chars().any(char::is_control) {
        return invalid("it contains control characters");
    }
    Ok(())
}

/// Turns cryptoki's loading failures into a sentence about the file.
fn describe_load_error(error: CkError) -> String {
    match error {
        CkError::LibraryLoading(e) => {
            format!("it is not a loadable shared library, so not a PKCS#11 module ({e})")
        }
        CkError::MissingSymbol(symbol) => {
            format!("it is a shared library but not a PKCS#11 module: it does not export {symbol}")
        }
        CkError::Pkcs11(rv, function) => {
            format!("the module's C_{function:?} failed with {}", rv_name(rv))
        }
        other => format!("the module could not be used: {other}"),
    }
}

fn code_of(error: CkError) -> String {
    match error {
        CkError::Pkcs11(rv, _) => rv_name(rv),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_labels_are_checked_before_reaching_the_token() {
        assert!(validate_token_label("Example Root 2026").is_ok());
        assert!(validate_token_label("").is_err());
        assert!(validate_token_label(" padded").is_err());
        assert!(validate_token_label("padded ").is_err());
        assert!(validate_token_label(&"x".repeat(32)).is_ok());
        let too_long = validate_token_label(&"x".repeat(33)).unwrap_err();
        assert!(too_long.to_string().contains("33 bytes"), "{too_long}");
        // Multi-byte characters count in bytes, as PKCS#11 stores them.
        assert!(validate_token_label(&"é".repeat(17)).is_err());
    }
}
