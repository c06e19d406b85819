//! Sorting a module's refusals into the classes the backup flow acts on.
//!
//! Modules answer the same situation with different codes: an untrusted
//! wrapping key is CKR_KEY_NOT_WRAPPABLE on SoftHSM2 2.6.1 and
//! CKR_WRAPPING_KEY_HANDLE_INVALID on kryoptic 1.5.4; a non-extractable key
//! CKR_KEY_UNEXTRACTABLE and CKR_KEY_FUNCTION_NOT_PERMITTED. The flow never
//! compares one code, only the class, so that a third module's choice of
//! code within a class changes nothing.

use cryptoki::error::{Error as CkError, RvError};

/// What a refusal means for the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The module does not implement this mechanism for this function: try
    /// the next one.
    MechanismUnsupported,
    /// The module refuses an attribute of the template as written (unknown,
    /// read-only, or not settable by this route).
    AttributeRefused,
    /// The wrapping key may not wrap this key: for a key with
    /// CKA_WRAP_WITH_TRUSTED, the wrapping key is not trusted.
    NotWrappable,
    /// The key may not leave the token at all.
    NotExtractable,
    /// The wrapped data does not unwrap with this key: another key made it,
    /// or it is damaged.
    WrappedDataInvalid,
    /// The object may not be changed, copied or destroyed.
    Prohibited,
    /// Anything else: reported as it is.
    Other,
}

/// The class of a cryptoki error; errors of the binding itself are `Other`.
pub(crate) fn class_of(error: &CkError) -> Refusal {
    let CkError::Pkcs11(rv, _) = error else {
        return Refusal::Other;
    };
    match rv {
        RvError::MechanismInvalid
        | RvError::MechanismParamInvalid
        | RvError::FunctionNotSupported => Refusal::MechanismUnsupported,
        RvError::AttributeTypeInvalid
        | RvError::AttributeReadOnly
        | RvError::AttributeValueInvalid
        | RvError::TemplateInconsistent => Refusal::AttributeRefused,
        RvError::KeyNotWrappable
        | RvError::WrappingKeyHandleInvalid
        | RvError::WrappingKeyTypeInconsistent => Refusal::NotWrappable,
        RvError::KeyUnextractable | RvError::KeyFunctionNotPermitted => Refusal::NotExtractable,
        RvError::WrappedKeyInvalid
        | RvError::WrappedKeyLenRange
        | RvError::EncryptedDataInvalid
        | RvError::EncryptedDataLenRange
        | RvError::DataInvalid
        | RvError::DataLenRange => Refusal::WrappedDataInvalid,
        RvError::ActionProhibited => Refusal::Prohibited,
        _ => Refusal::Other,
    }
}

/// The `CKR_*` name of a cryptoki error, or the binding's own message.
pub(crate) fn code_name(error: &CkError) -> String {
    match error {
        CkError::Pkcs11(rv, _) => crate::error::rv_name(*rv),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use cryptoki::context::Function;

    use super::*;

    fn refusal(rv: RvError) -> Refusal {
        class_of(&CkError::Pkcs11(rv, Function::WrapKey))
    }

    #[test]
    fn each_tested_module_code_falls_in_its_class() {
        let classes = [
            // An untrusted wrapping key: SoftHSM2, then kryoptic.
            (RvError::KeyNotWrappable, Refusal::NotWrappable),
            (RvError::WrappingKeyHandleInvalid, Refusal::NotWrappable),
            // A non-extractable key: SoftHSM2, then kryoptic.
            (RvError::KeyUnextractable, Refusal::NotExtractable),
            (RvError::KeyFunctionNotPermitted, Refusal::NotExtractable),
            // A mechanism code the module does not implement.
            (RvError::MechanismInvalid, Refusal::MechanismUnsupported),
            // CKA_TRUSTED in C_CreateObject: kryoptic, and SoftHSM2 for a
            // user; CKA_MODIFIABLE false before other attributes (SoftHSM2).
            (RvError::AttributeTypeInvalid, Refusal::AttributeRefused),
            (RvError::AttributeReadOnly, Refusal::AttributeRefused),
            // A locked or undestroyable object.
            (RvError::ActionProhibited, Refusal::Prohibited),
            (RvError::DeviceRemoved, Refusal::Other),
        ];
        for (rv, class) in classes {
            assert_eq!(refusal(rv), class, "{rv:?}");
        }
        assert_eq!(class_of(&CkError::NotSupported), Refusal::Other);
    }
}
