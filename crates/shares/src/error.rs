//! Everything that can go wrong with a share, worded for the operator.
//!
//! No variant carries share text, share values or a PIN: messages name a
//! group number, a share number, an entry, or the public identity of a split
//! (kind, ceremony tag, set nonce, k and n), which the ceremony log records
//! anyway. `entry` is an index into the slice handed to [`crate::check`] or
//! [`crate::rebuild_pin`], so the engine can name the custodian; messages
//! count entries from 1.

use crate::SecretKind;

/// Why a share or a set of shares was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The text is not laid out as a share (wrong version, wrong number of
    /// parts, a character that is never part of a share, numbers out of
    /// range). `reason` is built only from fixed words and counts.
    #[error(
        "this is not a share as the tool writes them: {reason}; compare what was typed with the paper copy and type it again"
    )]
    Format {
        /// What is wrong, without any of the typed text.
        reason: String,
    },

    /// One group does not match its check character.
    #[error(
        "group {group} of this share is mistyped: check the group against your paper copy and type it again"
    )]
    GroupMistyped {
        /// The group, 1 to 8, in the order written.
        group: u8,
    },

    /// More than one group fails its check. One typo in the header makes
    /// every group fail (each group's check covers the header), so the header
    /// is the first suspect.
    #[error(
        "groups {} do not match their check characters: check the first line (KC1-...) first, since one mistake there spoils every group, then those groups, against your paper copy and type the share again",
        list(groups)
    )]
    SeveralMistyped {
        /// The failing groups, 1 to 8, in order.
        groups: Vec<u8>,
    },

    /// Every group passes but the final check does not: groups typed in the
    /// wrong order, or a mistake in the final check itself.
    #[error(
        "the share's final check does not match: the groups may be in the wrong order or the last 4 characters mistyped; compare the whole share with your paper copy and type it again"
    )]
    ChecksumMismatch,

    /// A share of the other PIN.
    #[error("entry {} is a share of the {found}, not the {expected}: the custodian should take out their {expected} share", .entry + 1)]
    WrongKind {
        /// Index of the share in the slice.
        entry: usize,
        /// What the share is.
        found: SecretKind,
        /// What this login needs.
        expected: SecretKind,
    },

    /// A share made by another ceremony (another ceremony id).
    #[error("entry {} belongs to another ceremony (ceremony tag {found}; this one is {expected}): the custodian should take out the share issued at this ceremony", .entry + 1)]
    OtherCeremony {
        /// Index of the share in the slice.
        entry: usize,
        /// Ceremony tag written on the share.
        found: String,
        /// Ceremony tag this login expects.
        expected: String,
    },

    /// A share of the same secret kind and ceremony, but of another split.
    #[error("entry {} belongs to another split of this secret (set {found}; expected {expected}): every share must come from the same split, so the custodian should take out the share whose set matches", .entry + 1)]
    OtherSplit {
        /// Index of the share in the slice.
        entry: usize,
        /// The share's set nonce (and share count, when compared with another share).
        found: String,
        /// The nonce (and count) expected.
        expected: String,
    },

    /// The share says another threshold than this login expects.
    #[error("entry {} is from a {found}-of-n split, but this secret needs {expected} shares: the custodian should take out the share of this split", .entry + 1)]
    WrongThreshold {
        /// Index of the share in the slice.
        entry: usize,
        /// Threshold written on the share.
        found: u8,
        /// Threshold this login expects.
        expected: u8,
    },

    /// Two entries are the same share number.
    #[error("entry {} is share {number}, and share {number} was already entered: each custodian holds a different share", .entry + 1)]
    DuplicateNumber {
        /// Index of the second share with this number.
        entry: usize,
        /// The share number entered twice.
        number: u8,
    },

    /// Fewer shares than the threshold.
    #[error(
        "{have} of {need} shares entered; {need} needed: another custodian must enter their share"
    )]
    NotEnough {
        /// Shares entered.
        have: usize,
        /// The threshold.
        need: u8,
    },

    /// More than k shares were entered and this one does not agree with the
    /// first k - 1: one of them is not a genuine share of this split, even
    /// though each one's checks pass (checks catch typing, not forgery).
    #[error("entry {} does not agree with the shares entered before it although every check passes: one of these shares is not a genuine share of this split; stop and ask the witness to compare each paper copy with the log", .entry + 1)]
    Inconsistent {
        /// Index of the share that disagrees with the first k - 1.
        entry: usize,
    },

    /// The wrap key rebuilt from k shares is not the backup's: its check
    /// value is not the one recorded, so one of the shares is not genuine.
    #[error(
        "the wrap key rebuilt from these shares is not the backup's (its check value is not the recorded {recorded}): one of the shares is not a genuine share of the backup's split although every check passes; stop and ask the witness to compare each paper copy with the backup ceremony's log"
    )]
    WrongWrapKey {
        /// The check value the backup ceremony recorded.
        recorded: String,
    },

    /// A threshold, count or ceremony id the tool refuses, for a split or in
    /// what a login expects.
    #[error("the sharing parameters are refused: {reason}")]
    Params {
        /// What is wrong with the parameters.
        reason: String,
    },

    /// Splitting failed in the sharing library, or the split's self-check
    /// (every quorum rebuilds the secret, every share's text reads back)
    /// failed. The PIN must not be set from such a split.
    #[error("cannot split the secret: {reason}; do not set this PIN")]
    Split {
        /// Why.
        reason: String,
    },

    /// The shares could not be combined although `check` passed.
    #[error("cannot rebuild the secret: {reason}")]
    Combine {
        /// Why, from the sharing library.
        reason: String,
    },
}

/// "1, 3 and 5".
fn list(groups: &[u8]) -> String {
    let words: Vec<String> = groups.iter().map(u8::to_string).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn group_lists_read_as_english() {
        assert_eq!(list(&[]), "");
        assert_eq!(list(&[4]), "4");
        assert_eq!(list(&[1, 2]), "1 and 2");
        assert_eq!(list(&[1, 3, 5]), "1, 3 and 5");
    }
}
