//! `Money`: a CNY amount with at most two decimals, never negative, stored as integer fen.
use crate::core::error::{DomainError, DomainResult};
use rust_decimal::Decimal;
use std::fmt;

/// Upper bound for any single amount: 10 000 000 000.00 CNY keeps fen sums far inside i64.
const MAX_FEN: i64 = 1_000_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// Parses client input such as "150000.00" or "300". `field` names the input for the error.
    pub fn parse(field: &'static str, raw: &str) -> DomainResult<Money> {
        let bad = |msg: &'static str| DomainError::validation(field, msg);
        let s = raw.trim();
        if s.is_empty() || s.len() > 32 {
            return Err(bad("金额格式不正确"));
        }
        // Only plain decimal notation: no exponent, no sign other than a leading minus.
        if !s
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'))
        {
            return Err(bad("金额格式不正确"));
        }
        let d: Decimal = s.parse().map_err(|_| bad("金额格式不正确"))?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(bad("金额不能为负数"));
        }
        if d.normalize().scale() > 2 {
            return Err(bad("金额最多保留两位小数"));
        }
        Money::from_decimal(d).ok_or_else(|| bad("金额超出允许范围"))
    }

    pub fn from_decimal(d: Decimal) -> Option<Money> {
        let fen = (d * Decimal::ONE_HUNDRED).trunc();
        let fen: i64 = fen.try_into().ok()?;
        if !(0..=MAX_FEN).contains(&fen) {
            return None;
        }
        Some(Money(fen))
    }

    pub fn from_fen(fen: i64) -> Money {
        Money(fen)
    }

    pub fn fen(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

/// Always two decimals: "150000.00".
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_two_decimals() {
        assert_eq!(Money::parse("a", "150000").unwrap().to_string(), "150000.00");
        assert_eq!(Money::parse("a", "0.1").unwrap().to_string(), "0.10");
        assert_eq!(Money::parse("a", "7750.50").unwrap().fen(), 775050);
        assert_eq!(Money::parse("a", "1.200").unwrap().fen(), 120);
    }

    #[test]
    fn refuses_bad_amounts() {
        for bad in [
            "-1",
            "-0.01",
            "1.234",
            "abc",
            "",
            "1e5",
            "+5",
            "1,000",
            "NaN",
            "99999999999999",
        ] {
            let e = Money::parse("budget", bad).unwrap_err();
            assert_eq!(e.code(), "VALIDATION", "{bad}");
            assert_eq!(e.field(), Some("budget"));
        }
    }

    proptest! {
        #[test]
        fn fen_round_trip(fen in 0i64..MAX_FEN) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse("a", &m.to_string()).unwrap(), m);
        }
    }
}
