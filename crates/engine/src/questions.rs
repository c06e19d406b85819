//! What the room answers for the controls that hold dual control and
//! custody in the room, besides the go ([`crate::Imminent`]): the clock's
//! two readings, and the witness's decision on an exception the tool
//! raises itself.

use chrono::{DateTime, Utc};

/// The clock check's two readings, taken at one moment: the witness said
/// in advance what the reference clock would show (`reference`) and marked
/// the moment it showed it; `system` is the terminal's clock at that mark,
/// so the difference holds no typing time (CPS 5.5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockReading {
    pub reference: DateTime<Utc>,
    pub system: DateTime<Utc>,
}

/// A deviation the tool found itself (a clock beyond the policy's limit, a
/// value other than the one expected), put to the witness as a numbered
/// exception: accepted, the ceremony goes on with it recorded; not
/// accepted, the step stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    /// What the exception is about, as the answers file names its decision
    /// (`[steps."1.4".decisions.clock]`): `clock`, a record field's name.
    pub subject: String,
    pub description: String,
}

/// The witness's decision on a [`Raised`] exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub accepted: bool,
    /// Why; required when it is not accepted.
    pub remark: String,
}
