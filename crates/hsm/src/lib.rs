//! All PKCS#11 access for keyceremony.
//!
//! The rest of the workspace never sees `cryptoki` types: everything that
//! crosses this crate's edge is plain data (strings, byte vectors, object
//! handles as numbers) or [`HsmError`], so the HSM binding can change without
//! touching the ceremony logic. PINs only ever travel as [`SecretString`], a
//! backup's wrap key only as a [`Zeroizing`] buffer, and neither is ever
//! formatted into errors or debug output.
//!
//! A root key's backup, restore and destruction (CPS 6.2.4, 6.2.10) take the
//! standard PKCS#11 route: [`Session::generate_key_pair_with`] makes a key
//! that leaves its token only wrapped by a trusted key,
//! [`Session::import_trusted_wrap_key`] puts one there under the Security
//! Officer, [`Session::wrap_private_key`] wraps (RFC 5649),
//! [`Session::restore_key`] unwraps onto another token and proves the copy,
//! [`Session::destroy_key_pair`] and [`Session::destroy_wrap_key`] destroy
//! and check that nothing is left. docs/supported-modules.md says what each
//! tested module does.

#![warn(missing_docs)]

mod attributes;
mod destroy;
mod error;
mod key_handling;
mod keys;
pub mod lab;
mod module;
mod objects;
mod probe;
mod prove;
mod raw;
mod raw_wrap;
mod refusal;
mod restore;
mod session;
mod token_info;
mod uri;
mod wrap;

use std::path::PathBuf;

pub use destroy::Destruction;
pub use error::{HsmError, Result};
pub use key_handling::{AttributeLock, GeneratedKey, KeyHandling};
pub use keys::{KeyAlgorithm, KeyGenSpec, KeyPair, PrivateKeyAttributes, PublicKeyAttributes};
pub use module::{Module, ModuleInfo, Token, TokenFlags, TokenInfo};
pub use objects::{ObjectClass, ObjectFilter, ObjectSummary};
pub use probe::{Check, Probe, Verdict};
pub use prove::KeyProof;
pub use restore::{RestoreSpec, RestoredKey, RestoredKeyAttributes};
pub use secrecy::SecretString;
pub use session::{Session, UserKind};
pub use uri::Pkcs11Uri;
pub use wrap::{Backup, ImportedWrapKey, WRAP_KEY_BYTES, WrapKey, WrapKeyRoute, WrapMechanism};
pub use zeroize::Zeroizing;

/// Where distributions install SoftHSM2, in the order we prefer them.
const SOFTHSM_CANDIDATES: [&str; 4] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// The SoftHSM2 module on this machine, if one is installed in a usual place;
/// rehearsals default to it so that nobody has to look up the path.
pub fn default_module_path() -> Option<PathBuf> {
    SOFTHSM_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}
