//! Direct PKCS#11 calls for the backup tests: what the library never does
//! (create an untrusted AES key, give a user CKA_TRUSTED, wrap without the
//! tool's checks, change a locked attribute), to show what the module
//! itself allows and refuses beside the tool's own checks.
//!
//! The calls go to the module the test lab has already loaded and
//! initialised, through its function list, on a session of their own: login
//! state belongs to the token, so a user logged in on the library's session
//! is logged in here too, and object handles are valid in every session of
//! the process.

use std::path::Path;

use cryptoki::object::Attribute;
use cryptoki_sys::{
    CK_ATTRIBUTE, CK_FUNCTION_LIST, CK_MECHANISM, CK_MECHANISM_TYPE, CK_OBJECT_HANDLE, CK_RV,
    CK_SESSION_HANDLE, CK_ULONG, CKF_RW_SESSION, CKF_SERIAL_SESSION, CKM_AES_KEY_GEN, CKR_OK,
};

/// A module's function list, with the library kept loaded.
pub struct RawModule {
    list: *mut CK_FUNCTION_LIST,
    _library: cryptoki_sys::Pkcs11,
}

/// A read/write session of its own, closed when dropped.
pub struct RawSession<'a> {
    module: &'a RawModule,
    handle: CK_SESSION_HANDLE,
}

/// A PKCS#11 return value other than CKR_OK.
pub type Rv = CK_RV;

fn result(rv: CK_RV) -> Result<(), Rv> {
    if rv == CKR_OK { Ok(()) } else { Err(rv) }
}

impl RawModule {
    /// The function list of the module at `path`, already initialised.
    pub fn load(path: &Path) -> RawModule {
        // SAFETY: the test lab has loaded this module; this takes one more
        // reference on the mapped library.
        let library = unsafe { cryptoki_sys::Pkcs11::new(path) }.expect("load the module");
        let get_function_list = *library
            .C_GetFunctionList
            .as_ref()
            .expect("C_GetFunctionList");
        let mut list = std::ptr::null_mut();
        // SAFETY: a valid out-pointer for the module's static table.
        result(unsafe { get_function_list(&mut list) }).expect("the function list");
        RawModule {
            list,
            _library: library,
        }
    }

    fn functions(&self) -> &CK_FUNCTION_LIST {
        // SAFETY: non-null after C_GetFunctionList, valid while loaded.
        unsafe { &*self.list }
    }

    /// Opens a read/write session on the token in `slot_id`.
    pub fn session(&self, slot_id: u64) -> RawSession<'_> {
        let open = self.functions().C_OpenSession.expect("C_OpenSession");
        let mut handle = 0;
        // SAFETY: no callback, a valid out-pointer.
        let rv = unsafe {
            open(
                slot_id,
                CKF_SERIAL_SESSION | CKF_RW_SESSION,
                std::ptr::null_mut(),
                None,
                &mut handle,
            )
        };
        result(rv).expect("C_OpenSession");
        RawSession {
            module: self,
            handle,
        }
    }
}

impl Drop for RawSession<'_> {
    fn drop(&mut self) {
        let close = self
            .module
            .functions()
            .C_CloseSession
            .expect("C_CloseSession");
        // SAFETY: the handle came from C_OpenSession and is closed once.
        unsafe { close(self.handle) };
    }
}

fn attributes(template: &[Attribute]) -> Vec<CK_ATTRIBUTE> {
    template.iter().map(CK_ATTRIBUTE::from).collect()
}

impl RawSession<'_> {
    /// C_CreateObject.
    pub fn create(&self, template: &[Attribute]) -> Result<u64, Rv> {
        let create = self
            .module
            .functions()
            .C_CreateObject
            .expect("C_CreateObject");
        let mut attrs = attributes(template);
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: `attrs` points into `template`, alive for the call.
        let rv = unsafe {
            create(
                self.handle,
                attrs.as_mut_ptr(),
                attrs.len() as CK_ULONG,
                &mut handle,
            )
        };
        result(rv).map(|()| handle)
    }

    /// C_GenerateKey with CKM_AES_KEY_GEN.
    pub fn generate_aes(&self, template: &[Attribute]) -> Result<u64, Rv> {
        let generate = self
            .module
            .functions()
            .C_GenerateKey
            .expect("C_GenerateKey");
        let mut mechanism = no_parameter(CKM_AES_KEY_GEN);
        let mut attrs = attributes(template);
        let mut handle: CK_OBJECT_HANDLE = 0;
        // SAFETY: as for `create`.
        let rv = unsafe {
            generate(
                self.handle,
                &mut mechanism,
                attrs.as_mut_ptr(),
                attrs.len() as CK_ULONG,
                &mut handle,
            )
        };
        result(rv).map(|()| handle)
    }

    /// C_WrapKey, none of the tool's checks before it.
    pub fn wrap(
        &self,
        mechanism: CK_MECHANISM_TYPE,
        wrapping_key: u64,
        key: u64,
    ) -> Result<Vec<u8>, Rv> {
        let wrap = self.module.functions().C_WrapKey.expect("C_WrapKey");
        let mut mechanism = no_parameter(mechanism);
        let mut len: CK_ULONG = 0;
        // SAFETY: a null output asks for the length only.
        let rv = unsafe {
            wrap(
                self.handle,
                &mut mechanism,
                wrapping_key,
                key,
                std::ptr::null_mut(),
                &mut len,
            )
        };
        result(rv)?;
        let mut out = vec![0u8; len as usize];
        // SAFETY: `out` is writable for `len` bytes.
        let rv = unsafe {
            wrap(
                self.handle,
                &mut mechanism,
                wrapping_key,
                key,
                out.as_mut_ptr(),
                &mut len,
            )
        };
        result(rv)?;
        out.truncate(len as usize);
        Ok(out)
    }

    /// C_SetAttributeValue.
    pub fn set(&self, object: u64, template: &[Attribute]) -> Result<(), Rv> {
        let set = self
            .module
            .functions()
            .C_SetAttributeValue
            .expect("C_SetAttributeValue");
        let mut attrs = attributes(template);
        // SAFETY: as for `create`.
        result(unsafe {
            set(
                self.handle,
                object,
                attrs.as_mut_ptr(),
                attrs.len() as CK_ULONG,
            )
        })
    }

    /// A CK_BBOOL attribute, if the object reports it.
    pub fn flag(&self, object: u64, attribute: cryptoki_sys::CK_ATTRIBUTE_TYPE) -> Option<bool> {
        let get = self
            .module
            .functions()
            .C_GetAttributeValue
            .expect("C_GetAttributeValue");
        let mut value: cryptoki_sys::CK_BBOOL = 0;
        let mut attr = CK_ATTRIBUTE {
            type_: attribute,
            pValue: (&mut value as *mut cryptoki_sys::CK_BBOOL).cast(),
            ulValueLen: 1,
        };
        // SAFETY: one attribute pointing at a one-byte buffer.
        let rv = unsafe { get(self.handle, object, &mut attr, 1) };
        (rv == CKR_OK).then_some(value != 0)
    }

    /// C_DestroyObject.
    pub fn destroy(&self, object: u64) -> Result<(), Rv> {
        let destroy = self
            .module
            .functions()
            .C_DestroyObject
            .expect("C_DestroyObject");
        // SAFETY: only a number the module looks up.
        result(unsafe { destroy(self.handle, object) })
    }
}

fn no_parameter(mechanism: CK_MECHANISM_TYPE) -> CK_MECHANISM {
    CK_MECHANISM {
        mechanism,
        pParameter: std::ptr::null_mut(),
        ulParameterLen: 0,
    }
}
