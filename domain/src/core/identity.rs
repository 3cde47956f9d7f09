//! Personal identifiers as validated newtypes: 居民身份证号码 (GB 11643), mainland mobile
//! numbers, bank accounts, names. An invalid value cannot exist past `parse`, and the masks of
//! the contract live here so every answer masks the same way.
use crate::core::error::{DomainError, DomainResult};
use chrono::NaiveDate;

/// GB 11643 weights for the first 17 digits (ISO 7064 MOD 11-2).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits.
pub fn id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

impl IdNumber {
    /// 18 characters, a real birth date, the GB 11643 check character; `x` becomes `X`.
    pub fn parse(raw: &str) -> DomainResult<IdNumber> {
        let bad = |m: &'static str| DomainError::InvalidIdNumber(m.into());
        let s = raw.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(bad("身份证号码应为 18 位"));
        }
        let (body, last) = s.split_at(17);
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("身份证号码前 17 位应为数字"));
        }
        let birth = NaiveDate::parse_from_str(&body[6..14], "%Y%m%d")
            .map_err(|_| bad("身份证号码中的出生日期无效"))?;
        let today = chrono::Utc::now().date_naive();
        if birth.year_ce().1 < 1900 || birth > today {
            return Err(bad("身份证号码中的出生日期无效"));
        }
        let expected = id_check_char(body).ok_or_else(|| bad("身份证号码格式不正确"))?;
        if !last.starts_with(expected) {
            return Err(bad("身份证号码校验位不正确"));
        }
        Ok(IdNumber(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        NaiveDate::parse_from_str(&self.0[6..14], "%Y%m%d").expect("checked in parse")
    }
}

use chrono::Datelike;

/// Mainland mobile number: 11 digits starting 13–19 (a +86 / 86 prefix and spaces or dashes
/// are accepted and dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> DomainResult<Phone> {
        let digits: String = raw.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = digits
            .strip_prefix("+86")
            .or_else(|| digits.strip_prefix("0086"))
            .or_else(|| (digits.len() == 13).then(|| digits.strip_prefix("86")).flatten())
            .unwrap_or(&digits)
            .to_string();
        let ok = digits.len() == 11
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.starts_with('1')
            && (b'3'..=b'9').contains(&digits.as_bytes()[1]);
        if !ok {
            return Err(DomainError::validation(
                "phone",
                "手机号码应为 11 位中国大陆手机号",
            ));
        }
        Ok(Phone(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bank card or account number: 12–19 digits (spaces are dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BankAccount(String);

impl BankAccount {
    pub fn parse(raw: &str) -> DomainResult<BankAccount> {
        let digits: String = raw.trim().chars().filter(|c| *c != ' ').collect();
        if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DomainError::validation(
                "bankAccount",
                "银行账号应为 12–19 位数字",
            ));
        }
        Ok(BankAccount(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's or unit's name: 1–50 characters, no control characters.
pub fn person_name(raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 || n > 50 || name.chars().any(char::is_control) {
        return Err(DomainError::validation("name", "姓名应为 1–50 个字符"));
    }
    Ok(name.to_string())
}

/// `5301**********1234`: first 4 and last 4 characters.
pub fn mask_id_number(id: &str) -> String {
    mask_middle(id, 4, 4)
}

/// `138****5678`: first 3 and last 4.
pub fn mask_phone(phone: &str) -> String {
    mask_middle(phone, 3, 4)
}

/// `**** 1234`: last 4 only.
pub fn mask_bank_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("**** {tail}")
}

fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Makes a valid ID number (tests, demo and benchmark data): region, birth date, sequence.
pub fn make_id_number(region: u32, birth: NaiveDate, seq: u32) -> String {
    let body = format!(
        "{:06}{}{:03}",
        region % 1_000_000,
        birth.format("%Y%m%d"),
        seq % 1000
    );
    let check = id_check_char(&body).expect("17 digits");
    format!("{body}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        // The GB 11643 standard's own example.
        assert_eq!(
            IdNumber::parse("11010519491231002X").unwrap().as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::parse("11010519491231002x").unwrap().as_str(),
            "11010519491231002X"
        );
        assert_eq!(id_check_char("44052419800101001"), Some('3'));
        for bad in [
            "110105194912310021",  // wrong check digit
            "11010519491231002",   // 17 chars
            "1101051949123100211", // 19 chars
            "11010519491331002X",  // month 13
            "11010518000101002X",  // before 1900 (check digit aside)
            "1101051949123A002X",  // letter in the body
        ] {
            assert_eq!(
                IdNumber::parse(bad).unwrap_err().code(),
                "INVALID_ID_NUMBER",
                "{bad}"
            );
        }
    }

    #[test]
    fn phones_accounts_names_and_masks() {
        assert_eq!(Phone::parse("+86 138-0013-8000").unwrap().as_str(), "13800138000");
        assert!(Phone::parse("12800138000").is_err());
        assert!(Phone::parse("1380013800").is_err());
        assert_eq!(
            BankAccount::parse("6222 0202 0000 1234 567").unwrap().as_str(),
            "6222020200001234567"
        );
        assert!(BankAccount::parse("12345678901").is_err());
        assert!(BankAccount::parse("62220202000012345678").is_err());
        assert!(person_name("").is_err());
        assert!(person_name(&"张".repeat(51)).is_err());
        assert_eq!(mask_id_number("530124199001011234"), "5301**********1234");
        assert_eq!(mask_phone("13800135678"), "138****5678");
        assert_eq!(mask_bank_account("6222020200001234"), "**** 1234");
    }

    proptest! {
        #[test]
        fn generated_numbers_are_valid_and_any_single_digit_change_is_caught(
            region in 110000u32..660000,
            days in 0i64..36000,
            seq in 0u32..1000,
            pos in 0usize..17,
            delta in 1u8..10,
        ) {
            let birth = NaiveDate::from_ymd_opt(1925, 1, 1).unwrap() + chrono::Duration::days(days);
            let id = make_id_number(region, birth, seq);
            prop_assert!(IdNumber::parse(&id).is_ok());
            // MOD 11-2 detects every single-digit substitution.
            let mut bytes = id.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            let body = &changed[..17];
            prop_assert_ne!(id_check_char(body), changed.chars().last());
        }
    }
}
