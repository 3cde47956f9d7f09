//! Suppliers identified by their 统一社会信用代码 (GB 32100-2015).
use crate::core::error::{DomainError, DomainResult, on_unique};
use crate::core::services::Services;
use crate::funds::procurement::checks::*;
use crate::people::access::{Actor, Permission};
use crate::people::audit::Change;
use crate::people::organizations::clean_name;
use entities::supplier;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use std::fmt;

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码
// ---------------------------------------------------------------------------------------------

/// The 31 characters of GB 32100-2015 (no I, O, Z, S, V), in value order.
pub(super) const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17 (3^(i-1) mod 31).
pub(super) const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// 登记管理部门码: 1 机构编制, 5 民政, 9 工商, A 宗教, N 农业/其他, Y 其他 … (1–9, A, N, Y).
pub(super) const REGISTRARS: &[u8] = b"123456789ANY";

/// A valid 统一社会信用代码: 18 characters of the GB 32100 charset, upper case, with a correct
/// check character. Not personal data (it is printed on every business licence).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

pub(super) fn value_of(c: u8) -> Option<u32> {
    CHARSET.iter().position(|&x| x == c).map(|p| p as u32)
}

impl CreditCode {
    /// Parses client input: surrounding spaces are trimmed and lower case is upper-cased.
    /// Every failure is VALIDATION on the field `creditCode`.
    pub fn parse(raw: &str) -> DomainResult<CreditCode> {
        let bad = |msg: &'static str| DomainError::validation("creditCode", msg);
        let code = raw.trim().to_ascii_uppercase();
        if code.chars().count() != 18 {
            return Err(bad("统一社会信用代码应为 18 位"));
        }
        let bytes = code.as_bytes();
        if !bytes.iter().all(|&b| value_of(b).is_some()) {
            return Err(bad("统一社会信用代码含有无效字符（不使用 I、O、Z、S、V）"));
        }
        if !REGISTRARS.contains(&bytes[0]) {
            return Err(bad("统一社会信用代码的登记管理部门代码无效"));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(bad("统一社会信用代码的第 3–8 位应为行政区划码（数字）"));
        }
        let check = Self::check_char(&code[..17]).ok_or_else(|| bad("统一社会信用代码含有无效字符"))?;
        if bytes[17] as char != check {
            return Err(bad("统一社会信用代码校验位错误"));
        }
        Ok(CreditCode(code))
    }

    /// The check character of a 17-character body (None if the body is not 17 charset
    /// characters): charset[(31 − Σ value·weight mod 31) mod 31].
    pub fn check_char(body: &str) -> Option<char> {
        let b = body.as_bytes();
        if b.len() != 17 {
            return None;
        }
        let mut sum = 0u32;
        for (c, w) in b.iter().zip(WEIGHTS) {
            sum += value_of(*c)? * w;
        }
        Some(CHARSET[((31 - sum % 31) % 31) as usize] as char)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
// ---------------------------------------------------------------------------------------------
// Suppliers
// ---------------------------------------------------------------------------------------------

/// `createSupplier`: FINANCE. The credit code is unique (CONFLICT when already registered).
pub async fn create_supplier(
    s: &Services,
    actor: &Actor,
    name: &str,
    credit_code: &str,
    contact: Option<&str>,
) -> DomainResult<supplier::Model> {
    actor.require(Permission::ManageProcurement)?;
    let name = clean_name("name", name, 200)?;
    let code = CreditCode::parse(credit_code)?;
    let contact = optional_text("contact", contact, 200, "联系方式")?;
    let mut change = Change::begin(&s.db, Some(actor), "createSupplier").await?;
    let am = supplier::ActiveModel {
        name: Set(name),
        credit_code: Set(code.as_str().to_string()),
        contact: Set(contact),
        created_at: Set(change.now()),
        ..Default::default()
    };
    let created = change
        .insert_audited_or(
            am,
            on_unique(|| DomainError::Conflict("该统一社会信用代码的供应商已登记".into())),
        )
        .await?;
    change.commit().await?;
    Ok(created)
}

/// Every supplier (suppliers are shared by all campaigns), in registration order.
pub async fn suppliers(s: &Services, actor: &Actor) -> DomainResult<Vec<supplier::Model>> {
    actor.require(Permission::ReadMoney)?;
    Ok(supplier::Entity::find()
        .order_by_asc(supplier::Column::Id)
        .all(&s.db)
        .await?)
}
