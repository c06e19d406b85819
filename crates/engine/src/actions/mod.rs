//! The ceremony's actions, one module per action or per group of actions
//! that belong together. Each module adds its methods to `Runner` in an
//! `impl` block of its own; `Runner::step` (run.rs) dispatches on the
//! step's `Action`. Adding an action means adding a module here and one
//! arm in that dispatch.
//!
//! What needs no runner stays at the crate root: the activation data
//! (`crate::activation`: PINs, shares, `with_pin`) and reading an
//! interrupted log back (`crate::resume`).

mod activation;
mod backup_key;
mod certificate;
mod check_in;
mod clock;
mod copy_check;
mod custody;
mod destroy_key;
mod dual_login;
mod go;
mod issue;
mod keys;
mod media;
mod presence;
mod proof;
mod raised;
mod reinitialize;
mod restore_key;
mod resume;
mod root;
mod seal;
mod sign_crl;
mod sign_cross;
mod sign_ocsp_responder;
mod sign_subordinate;
mod stop;
mod token;
mod witness;

pub(crate) use media::WITNESS_PUBLIC_KEY;
pub(crate) use resume::keys_left_sentence;
pub(crate) use token::check_token;
pub(crate) use witness::{check_witness_token, pinned_key};
