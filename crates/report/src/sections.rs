//! The sections of the ceremony report after its summary, one module each,
//! in the order `report::build` prints them. Each lays out its section from
//! the folder as read ([`Ctx`](crate::context::Ctx)) and adds to the
//! findings every check that failed and every event the auditor must review.

pub(crate) mod activation;
pub(crate) mod ceremony;
pub(crate) mod certificates;
pub(crate) mod commands;
pub(crate) mod crls;
pub(crate) mod custody;
pub(crate) mod environment;
pub(crate) mod exceptions;
pub(crate) mod issued;
pub(crate) mod keys;
pub(crate) mod log;
pub(crate) mod output_files;
pub(crate) mod participants;
pub(crate) mod recorded;
pub(crate) mod rehearsal;
pub(crate) mod room;
pub(crate) mod summary;
pub(crate) mod timeline;
pub(crate) mod token;
