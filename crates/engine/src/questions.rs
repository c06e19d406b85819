//! What the room answers for the controls that hold dual control and
//! custody in the room, besides the go ([`crate::Imminent`]): the clock's
//! two readings, the witness's decision on an exception the tool raises
//! itself, and who is in the room.

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

/// Whether a participant is in the room at a check-in, as the person who
/// checks them records it (CPS 5.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attendance {
    /// In the room, their identity document checked now.
    Identified(crate::operator::Identity),
    /// In the room, identified earlier in this ceremony (a resume's
    /// check-in asks only who is there).
    InRoom,
    /// Not in the room, and why.
    Absent { reason: String },
}

/// Someone a step needs who is not in the room.
#[derive(Debug, Clone)]
pub struct Missing {
    pub participant: keyceremony_script::Participant,
    /// What the step needs them for: "the witness of step 3.1".
    pub needed_as: String,
    /// Where the log says they are: "absent: ill", "left at 10:32:05: ...".
    pub whereabouts: String,
    /// Whether their identity was checked in this ceremony: if not, it is
    /// checked as they come in.
    pub identified: bool,
}

/// A participant leaving or coming back into the room, at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub participant: String,
    pub change: Change,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Leaves {
        reason: String,
    },
    /// `document`: for someone whose identity was never checked in this
    /// ceremony (absent at the check-in), the document checked now.
    Returns {
        document: Option<String>,
    },
}
