//! The password rule, shared by the settings (the first admin password) and `people::users`.
use crate::core::error::{DomainError, DomainResult};

pub fn check_password_strength(p: &str) -> DomainResult<()> {
    let n = p.chars().count();
    if n < 8 {
        return Err(DomainError::validation("password", "密码至少 8 个字符"));
    }
    if n > 128 {
        return Err(DomainError::validation("password", "密码不能超过 128 个字符"));
    }
    Ok(())
}
