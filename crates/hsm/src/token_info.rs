//! Reading a token's information: which PINs it accepts, and which token a
//! serial number names.

use secrecy::{ExposeSecret, SecretString};

use crate::error::{HsmError, Result};
use crate::module::TokenInfo;

impl TokenInfo {
    /// Whether the token accepts a PIN of `len` bytes.
    pub fn accepts_pin_length(&self, len: usize) -> bool {
        len >= self.min_pin_len && (self.max_pin_len == 0 || len <= self.max_pin_len)
    }

    /// Checks a new PIN against the token's limits first, because some
    /// tokens (SoftHSM2 among them) answer a badly sized PIN with
    /// CKR_PIN_INCORRECT, which would send the operator looking for a typo.
    pub(crate) fn check_pin_length(&self, pin: &SecretString) -> Result<()> {
        if self.accepts_pin_length(pin.expose_secret().len()) {
            Ok(())
        } else {
            Err(HsmError::PinLength {
                min: self.min_pin_len,
                max: self.max_pin_len,
            })
        }
    }
}

/// The one token in `tokens` with this serial number.
pub(crate) fn find_by_serial<'a>(tokens: &'a [TokenInfo], serial: &str) -> Result<&'a TokenInfo> {
    if serial.trim().is_empty() {
        return Err(HsmError::InvalidArgument(
            "an empty serial number names no token; give the serial the token reports, or none"
                .to_owned(),
        ));
    }
    let matches: Vec<&TokenInfo> = tokens.iter().filter(|t| t.serial == serial).collect();
    match matches.as_slice() {
        [] => Err(HsmError::TokenSerialNotFound {
            serial: serial.to_owned(),
            available: tokens
                .iter()
                .filter(|t| !t.serial.is_empty())
                .map(|t| t.serial.clone())
                .collect(),
            without_serial: tokens.iter().filter(|t| t.serial.is_empty()).count(),
        }),
        [only] => Ok(only),
        many => Err(HsmError::AmbiguousToken {
            attribute: "serial number",
            value: serial.to_owned(),
            count: many.len(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::TokenFlags;

    fn token(slot_id: u64, serial: &str, initialized: bool) -> TokenInfo {
        TokenInfo {
            slot_id,
            label: String::new(),
            manufacturer: "Example".to_owned(),
            model: "HSM".to_owned(),
            serial: serial.to_owned(),
            hardware_version: "1.0".to_owned(),
            firmware_version: "1.0".to_owned(),
            flags: TokenFlags {
                initialized,
                ..TokenFlags::default()
            },
            min_pin_len: 4,
            max_pin_len: 255,
        }
    }

    #[test]
    fn a_serial_selects_an_uninitialized_token_too() {
        // A smartcard-class token carries its factory serial before it is
        // initialized; that is the token a ceremony's hsm.token_serial names.
        let tokens = [
            token(1, "A1B2", true),
            token(2, "C3D4", false),
            token(3, "", false),
        ];
        assert_eq!(find_by_serial(&tokens, "C3D4").unwrap().slot_id, 2);
        assert_eq!(find_by_serial(&tokens, "A1B2").unwrap().slot_id, 1);

        let err = find_by_serial(&tokens, "E5F6").unwrap_err();
        match &err {
            HsmError::TokenSerialNotFound {
                available,
                without_serial,
                ..
            } => {
                assert_eq!(available, &["A1B2", "C3D4"]);
                assert_eq!(*without_serial, 1);
            }
            other => panic!("expected TokenSerialNotFound, got {other:?}"),
        }
        assert!(
            err.to_string().contains("1 token reports no serial"),
            "{err}"
        );
        // The blank serial of a soft token's free slot selects nothing.
        assert!(matches!(
            find_by_serial(&tokens, ""),
            Err(HsmError::InvalidArgument(_))
        ));
        let twice = [token(1, "A1B2", true), token(2, "A1B2", false)];
        assert!(matches!(
            find_by_serial(&twice, "A1B2"),
            Err(HsmError::AmbiguousToken { count: 2, .. })
        ));
    }

    #[test]
    fn a_max_pin_length_of_zero_means_no_upper_limit() {
        let kryoptic = TokenInfo {
            min_pin_len: 8,
            max_pin_len: 0,
            ..token(1, "", false)
        };
        assert!(kryoptic.accepts_pin_length(32));
        assert!(kryoptic.accepts_pin_length(4096));
        assert!(!kryoptic.accepts_pin_length(7));
        assert!(
            kryoptic
                .check_pin_length(&SecretString::from("x".repeat(32)))
                .is_ok()
        );
        let err = kryoptic
            .check_pin_length(&SecretString::from("short"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PIN must be at least 8 bytes long for this token; choose another PIN"
        );

        let small = TokenInfo {
            min_pin_len: 4,
            max_pin_len: 8,
            ..token(1, "", false)
        };
        assert!(!small.accepts_pin_length(32));
        assert!(small.accepts_pin_length(8));
    }
}
