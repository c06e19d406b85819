//! The few direct calls into the module that cryptoki does not offer, and
//! CK_ULONG conversions.
//!
//! cryptoki's `Session::sign` runs `C_SignInit` and `C_Sign` back to back, and
//! its multi-part API is refused for raw ECDSA (SoftHSM2 rejects
//! `C_SignUpdate` for CKM_ECDSA). A key with CKA_ALWAYS_AUTHENTICATE needs a
//! context-specific `C_Login` between the two calls, so single-part `C_Sign`
//! is called here directly, on the same module instance cryptoki uses.

use std::path::Path;

use cryptoki::context::Function;
use cryptoki::error::Rv;
use cryptoki_sys::{CK_BYTE, CK_FUNCTION_LIST, CK_RV, CK_SESSION_HANDLE, CK_ULONG, CKR_OK};

use crate::error::{HsmError, Result};

/// Signature of the module's `C_Sign`.
type CSignFn = unsafe extern "C" fn(
    CK_SESSION_HANDLE,
    *mut CK_BYTE,
    CK_ULONG,
    *mut CK_BYTE,
    *mut CK_ULONG,
) -> CK_RV;

/// Big enough for any signature this crate makes (RSA-4096 is 512 bytes).
const ABANDON_BUFFER_LEN: usize = 1024;

/// Our own handle on a module's `C_Sign`.
pub(crate) struct RawSign {
    c_sign: CSignFn,
    /// Holds a reference on the shared library so that `c_sign` stays valid
    /// independently of cryptoki's handle.
    _library: cryptoki_sys::Pkcs11,
}

impl RawSign {
    /// Takes another reference on the library at `path` (already loaded by
    /// cryptoki) and fetches `C_Sign` from its function list.
    pub(crate) fn load(path: &Path) -> std::result::Result<RawSign, String> {
        let (library, list) = function_list(path)?;
        // SAFETY: `list` is non-null and points to the module's function
        // table, which stays valid while `library` keeps the module loaded.
        let c_sign = unsafe { (*list).C_Sign }
            .ok_or_else(|| "its function list has no C_Sign".to_owned())?;
        Ok(RawSign {
            c_sign,
            _library: library,
        })
    }

    /// Single-part `C_Sign` on a session whose signing operation has
    /// already been initialized.
    pub(crate) fn sign(&self, session: CK_SESSION_HANDLE, data: &[u8]) -> Result<Vec<u8>> {
        let data_len = to_ulong(data.len(), "message length")?;
        let mut signature_len: CK_ULONG = 0;
        // SAFETY: `data` is valid for `data_len` bytes and C_Sign only reads
        // it (the C prototype lacks `const` for historical reasons); a null
        // output pointer asks only for the signature length.
        let rv = unsafe {
            (self.c_sign)(
                session,
                data.as_ptr().cast_mut(),
                data_len,
                std::ptr::null_mut(),
                &mut signature_len,
            )
        };
        check(rv)?;
        let mut signature = vec![0; from_ulong(signature_len)?];
        // SAFETY: as above, and `signature` is writable for `signature_len`
        // bytes, which the module updates to the length it wrote.
        let rv = unsafe {
            (self.c_sign)(
                session,
                data.as_ptr().cast_mut(),
                data_len,
                signature.as_mut_ptr(),
                &mut signature_len,
            )
        };
        check(rv)?;
        signature.truncate(from_ulong(signature_len)?);
        Ok(signature)
    }

    /// Ends a signing operation that cannot be completed (for example after
    /// a failed context-specific login), so the session can sign again:
    /// PKCS#11 terminates the operation on any `C_Sign` call that does not
    /// just report a length.
    pub(crate) fn abandon(&self, session: CK_SESSION_HANDLE) {
        let mut buffer = [0u8; ABANDON_BUFFER_LEN];
        let mut buffer_len: CK_ULONG = ABANDON_BUFFER_LEN as CK_ULONG;
        let mut data = [0u8; 1];
        // SAFETY: both buffers are valid and writable for the lengths given.
        // The outcome is irrelevant: success and failure both end the
        // operation, and any signature produced is discarded.
        unsafe {
            (self.c_sign)(
                session,
                data.as_mut_ptr(),
                1,
                buffer.as_mut_ptr(),
                &mut buffer_len,
            );
        }
    }
}

/// Takes another reference on the library at `path`, which cryptoki has
/// already loaded, and returns it with the module's function table: the
/// table stays valid while the returned library is kept.
pub(crate) fn function_list(
    path: &Path,
) -> std::result::Result<(cryptoki_sys::Pkcs11, *mut CK_FUNCTION_LIST), String> {
    // SAFETY: cryptoki has just loaded this same file successfully, so
    // its initialisers have already run; loading it again only takes
    // another reference on the library that is already mapped.
    let library = unsafe { cryptoki_sys::Pkcs11::new(path) }
        .map_err(|e| format!("it is not a loadable shared library ({e})"))?;
    let get_function_list = *library
        .C_GetFunctionList
        .as_ref()
        .map_err(|_| "it does not export C_GetFunctionList".to_owned())?;
    let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
    // SAFETY: C_GetFunctionList only stores a pointer to the module's
    // static function table into `list`, a valid out-pointer.
    let rv = unsafe { get_function_list(&mut list) };
    if rv != CKR_OK || list.is_null() {
        return Err(format!("its C_GetFunctionList failed with {rv:#x}"));
    }
    Ok((library, list))
}

fn check(rv: CK_RV) -> Result<()> {
    check_as(rv, Function::Sign, "C_Sign")
}

/// A return value as this crate's error for `operation`.
pub(crate) fn check_as(rv: CK_RV, function: Function, operation: &'static str) -> Result<()> {
    Rv::from(rv)
        .into_result(function)
        .map_err(|e| HsmError::from_cryptoki(operation, e))
}

/// CK_ULONG is 64 bits on the Linux targets SoftHSM2 is used on but 32 bits
/// on others, so conversions are spelled out once here.
#[allow(clippy::useless_conversion)]
pub(crate) fn ulong_to_u64(value: CK_ULONG) -> u64 {
    u64::from(value)
}

/// See [`ulong_to_u64`].
#[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
pub(crate) fn u64_to_ulong(value: u64, what: &str) -> Result<CK_ULONG> {
    CK_ULONG::try_from(value)
        .map_err(|_| HsmError::InvalidArgument(format!("{what} {value} does not fit a CK_ULONG")))
}

pub(crate) fn to_ulong(value: usize, what: &str) -> Result<CK_ULONG> {
    CK_ULONG::try_from(value)
        .map_err(|_| HsmError::InvalidArgument(format!("{what} {value} does not fit a CK_ULONG")))
}

fn from_ulong(value: CK_ULONG) -> Result<usize> {
    length_from_ulong(value, "C_Sign", "signature")
}

/// A length the module reported for the output of `operation`.
pub(crate) fn length_from_ulong(
    value: CK_ULONG,
    operation: &'static str,
    what: &str,
) -> Result<usize> {
    usize::try_from(value).map_err(|_| HsmError::UnexpectedResult {
        operation,
        reason: format!("{what} length {value} does not fit in memory"),
    })
}
