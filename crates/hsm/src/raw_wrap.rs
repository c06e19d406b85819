//! `C_WrapKey` and `C_UnwrapKey` called directly, for the RFC 5649 key wrap.
//!
//! cryptoki names CKM_AES_KEY_WRAP_PAD (0x210A) but not PKCS#11 3.0's
//! CKM_AES_KEY_WRAP_KWP (0x210B), and builds a mechanism only from the
//! types it names (a vendor-defined one must be 0x80000000 or above). The
//! tested modules each implement RFC 5649 under one of the two codes only
//! (SoftHSM2 2.6.1 0x210A, kryoptic 1.5.4 0x210B), so both calls are made
//! here with the mechanism code as a number, on the same module instance
//! cryptoki uses. Failures come back as cryptoki errors, so the caller sorts
//! them by class exactly as it sorts those of cryptoki's own calls.

use std::path::Path;

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, Rv};
use cryptoki::object::Attribute;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_BYTE, CK_FUNCTION_LIST, CK_MECHANISM, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE,
    CK_RV, CK_SESSION_HANDLE, CK_ULONG,
};

use crate::error::HsmError;
use crate::raw::{function_list, length_from_ulong, to_ulong};

/// Signature of the module's `C_WrapKey`.
type CWrapKeyFn = unsafe extern "C" fn(
    CK_SESSION_HANDLE,
    *mut CK_MECHANISM,
    CK_OBJECT_HANDLE,
    CK_OBJECT_HANDLE,
    *mut CK_BYTE,
    *mut CK_ULONG,
) -> CK_RV;

/// Signature of the module's `C_UnwrapKey`.
type CUnwrapKeyFn = unsafe extern "C" fn(
    CK_SESSION_HANDLE,
    *mut CK_MECHANISM,
    CK_OBJECT_HANDLE,
    *mut CK_BYTE,
    CK_ULONG,
    *mut CK_ATTRIBUTE,
    CK_ULONG,
    *mut CK_OBJECT_HANDLE,
) -> CK_RV;

/// What a raw call gives: the module's answer as cryptoki would report it,
/// or this crate's error when the call could not be made at all.
pub(crate) enum RawError {
    /// The module returned an error code.
    Module(CkError),
    /// The arguments could not be passed, or the answer read.
    Crate(HsmError),
}

impl From<HsmError> for RawError {
    fn from(error: HsmError) -> Self {
        RawError::Crate(error)
    }
}

/// Our own handle on a module's `C_WrapKey` and `C_UnwrapKey`.
pub(crate) struct RawWrap {
    c_wrap_key: CWrapKeyFn,
    c_unwrap_key: CUnwrapKeyFn,
    /// Keeps the shared library mapped while the function pointers live.
    _library: cryptoki_sys::Pkcs11,
}

impl RawWrap {
    /// Takes another reference on the library at `path` (already loaded by
    /// cryptoki) and fetches both functions from its function list.
    pub(crate) fn load(path: &Path) -> std::result::Result<RawWrap, String> {
        let (library, list): (_, *mut CK_FUNCTION_LIST) = function_list(path)?;
        // SAFETY: `list` is non-null and points to the module's function
        // table, which stays valid while `library` keeps the module loaded.
        let (wrap, unwrap) = unsafe { ((*list).C_WrapKey, (*list).C_UnwrapKey) };
        Ok(RawWrap {
            c_wrap_key: wrap.ok_or_else(|| "its function list has no C_WrapKey".to_owned())?,
            c_unwrap_key: unwrap
                .ok_or_else(|| "its function list has no C_UnwrapKey".to_owned())?,
            _library: library,
        })
    }

    /// `C_WrapKey` with a mechanism that takes no parameter.
    pub(crate) fn wrap(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        wrapping_key: CK_OBJECT_HANDLE,
        key: CK_OBJECT_HANDLE,
    ) -> std::result::Result<Vec<u8>, RawError> {
        let mut mechanism = no_parameter(mechanism);
        let mut len: CK_ULONG = 0;
        // SAFETY: `mechanism` is a valid CK_MECHANISM without parameter; a
        // null output pointer asks only for the wrapped key's length.
        let rv = unsafe {
            (self.c_wrap_key)(
                session,
                &mut mechanism,
                wrapping_key,
                key,
                std::ptr::null_mut(),
                &mut len,
            )
        };
        module_result(rv, Function::WrapKey)?;
        let mut wrapped = vec![0; length_from_ulong(len, "C_WrapKey", "wrapped key")?];
        // SAFETY: as above, and `wrapped` is writable for `len` bytes, which
        // the module updates to the length it wrote.
        let rv = unsafe {
            (self.c_wrap_key)(
                session,
                &mut mechanism,
                wrapping_key,
                key,
                wrapped.as_mut_ptr(),
                &mut len,
            )
        };
        module_result(rv, Function::WrapKey)?;
        wrapped.truncate(length_from_ulong(len, "C_WrapKey", "wrapped key")?);
        Ok(wrapped)
    }

    /// `C_UnwrapKey` with a mechanism that takes no parameter; the new
    /// object's handle.
    pub(crate) fn unwrap(
        &self,
        session: CK_SESSION_HANDLE,
        mechanism: CK_MECHANISM_TYPE,
        unwrapping_key: CK_OBJECT_HANDLE,
        wrapped: &[u8],
        template: &[Attribute],
    ) -> std::result::Result<CK_OBJECT_HANDLE, RawError> {
        let mut mechanism = no_parameter(mechanism);
        // The CK_ATTRIBUTEs point into `template`, which outlives the call.
        let mut attributes: Vec<CK_ATTRIBUTE> = template.iter().map(CK_ATTRIBUTE::from).collect();
        let wrapped_len = to_ulong(wrapped.len(), "wrapped key length")?;
        let count = to_ulong(attributes.len(), "template length")?;
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: `wrapped` is valid for `wrapped_len` bytes and only read
        // (the C prototype lacks `const`); `attributes` holds `count` valid
        // attributes whose values live in `template`; `handle` is a valid
        // out-pointer.
        let rv = unsafe {
            (self.c_unwrap_key)(
                session,
                &mut mechanism,
                unwrapping_key,
                wrapped.as_ptr().cast_mut(),
                wrapped_len,
                attributes.as_mut_ptr(),
                count,
                &mut handle,
            )
        };
        module_result(rv, Function::UnwrapKey)?;
        Ok(handle)
    }
}

fn no_parameter(mechanism: CK_MECHANISM_TYPE) -> CK_MECHANISM {
    CK_MECHANISM {
        mechanism,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    }
}

fn module_result(rv: CK_RV, function: Function) -> std::result::Result<(), RawError> {
    Rv::from(rv).into_result(function).map_err(RawError::Module)
}
