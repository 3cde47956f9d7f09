//! A recipient's fields: the shape rules (`validate`: a PERSON has a valid ID number, a UNIT
//! none) and their sealed form (`seal`: encrypted, blind-indexed, masked).
use crate::core::crypto::{FieldCipher, PiiField};
use crate::core::error::{DomainError, DomainResult};
use crate::core::identity::{self, BankAccount, IdNumber, Phone};
use crate::plan::categories::RecipientKind;

/// A recipient's fields as a client sent them.
#[derive(Clone, Debug, Default)]
pub struct RecipientFields {
    pub kind: Option<RecipientKind>,
    pub name: String,
    pub id_number: Option<String>,
    pub phone: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
}

/// Validated fields, personal data in clear (never logged, never stored as such).
pub struct ValidFields {
    pub kind: RecipientKind,
    pub name: String,
    pub id_number: Option<IdNumber>,
    pub phone: Option<Phone>,
    pub bank_name: Option<String>,
    pub bank_account: Option<BankAccount>,
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The shape rules of a recipient: a PERSON has a valid ID number, a UNIT has none.
pub fn validate(f: &RecipientFields, kind: RecipientKind) -> DomainResult<ValidFields> {
    let name = identity::person_name(&f.name)?;
    let id_number = match (kind, non_empty(&f.id_number)) {
        (RecipientKind::Person, Some(raw)) => Some(IdNumber::parse(raw)?),
        (RecipientKind::Person, None) => {
            return Err(DomainError::validation(
                "idNumber",
                "个人慰问对象必须填写身份证号码",
            ));
        }
        (RecipientKind::Unit, Some(_)) => {
            return Err(DomainError::validation(
                "idNumber",
                "单位慰问对象不填写身份证号码",
            ));
        }
        (RecipientKind::Unit, None) => None,
    };
    let phone = non_empty(&f.phone).map(Phone::parse).transpose()?;
    let bank_account = non_empty(&f.bank_account).map(BankAccount::parse).transpose()?;
    let bank_name = match non_empty(&f.bank_name) {
        Some(b) if b.chars().count() > 100 || b.chars().any(char::is_control) => {
            return Err(DomainError::validation(
                "bankName",
                "开户行名称不能超过 100 个字符",
            ));
        }
        Some(b) => Some(b.to_string()),
        None => None,
    };
    Ok(ValidFields {
        kind,
        name,
        id_number,
        phone,
        bank_name,
        bank_account,
    })
}

/// Encrypted, indexed and masked form of the personal fields, plus the de-duplication key.
pub struct Sealed {
    pub id_enc: Option<String>,
    pub id_index: Option<String>,
    pub id_mask: Option<String>,
    pub phone_enc: Option<String>,
    pub phone_index: Option<String>,
    pub phone_mask: Option<String>,
    pub bank_enc: Option<String>,
    pub bank_index: Option<String>,
    pub bank_mask: Option<String>,
    pub dedup_key: String,
}

pub fn seal(cipher: &FieldCipher, v: &ValidFields) -> Sealed {
    let id = v.id_number.as_ref().map(|i| i.as_str());
    let phone = v.phone.as_ref().map(|p| p.as_str());
    let bank = v.bank_account.as_ref().map(|b| b.as_str());
    let id_index = id.map(|i| cipher.blind_index(PiiField::IdNumber, i));
    Sealed {
        id_enc: id.map(|i| cipher.encrypt(i)),
        id_mask: id.map(identity::mask_id_number),
        phone_enc: phone.map(|p| cipher.encrypt(p)),
        phone_index: phone.map(|p| cipher.blind_index(PiiField::Phone, p)),
        phone_mask: phone.map(identity::mask_phone),
        bank_enc: bank.map(|b| cipher.encrypt(b)),
        bank_index: bank.map(|b| cipher.blind_index(PiiField::BankAccount, b)),
        bank_mask: bank.map(identity::mask_bank_account),
        dedup_key: match &id_index {
            Some(ix) => format!("P:{ix}"),
            None => format!("U:{}", v.name),
        },
        id_index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persons_need_an_id_number_units_must_not_have_one() {
        let person = RecipientFields {
            name: "张三".into(),
            ..Default::default()
        };
        assert_eq!(
            validate(&person, RecipientKind::Person).err().unwrap().field(),
            Some("idNumber")
        );
        let unit = RecipientFields {
            name: "富民县公安局".into(),
            id_number: Some("11010519491231002X".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&unit, RecipientKind::Unit).err().unwrap().field(),
            Some("idNumber")
        );
        let bad = RecipientFields {
            name: "张三".into(),
            id_number: Some("110105194912310021".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&bad, RecipientKind::Person).err().unwrap().code(),
            "INVALID_ID_NUMBER"
        );
    }

    #[test]
    fn sealed_values_hide_the_clear_text() {
        let keys = crate::core::settings::Keys::derive(b"0123456789abcdef0123456789abcdef");
        let cipher = FieldCipher::new(&keys);
        let v = validate(
            &RecipientFields {
                name: "张三".into(),
                id_number: Some("11010519491231002x".into()),
                phone: Some("13800138000".into()),
                bank_account: Some("6222020200001234567".into()),
                ..Default::default()
            },
            RecipientKind::Person,
        )
        .unwrap();
        let s = seal(&cipher, &v);
        for enc in [&s.id_enc, &s.phone_enc, &s.bank_enc] {
            let enc = enc.as_ref().unwrap();
            assert!(
                !enc.contains("11010519491231002X")
                    && !enc.contains("13800138000")
                    && !enc.contains("6222020200001234567")
            );
        }
        assert_eq!(s.id_mask.as_deref(), Some("1101**********002X"));
        assert_eq!(s.phone_mask.as_deref(), Some("138****8000"));
        assert_eq!(s.bank_mask.as_deref(), Some("**** 4567"));
        assert_eq!(
            cipher.decrypt(s.id_enc.as_ref().unwrap()).unwrap(),
            "11010519491231002X"
        );
        assert!(s.dedup_key.starts_with("P:"));
    }
}
