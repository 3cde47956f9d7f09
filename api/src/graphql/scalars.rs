//! The contract's `Date` and `Decimal` scalars.
//!
//! `Decimal` accepts any string (or number) at the GraphQL layer and is checked by
//! `domain::Money::parse`, so a negative or three-decimal amount is a VALIDATION error with
//! its field name, not an anonymous parse failure. Out, it always has two decimals.
use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;
use domain::Money;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => match domain::calendar::parse_date(s) {
                None => Err(InputValueError::custom("日期格式应为 YYYY-MM-DD")),
                Some(d) if !domain::calendar::in_supported_range(d) => Err(InputValueError::custom(format!(
                    "日期超出范围（{} 至 {}）",
                    domain::calendar::FIRST_DATE,
                    domain::calendar::LAST_DATE
                ))),
                Some(d) => Ok(Date(d)),
            },
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decimal {
    /// As sent by a client; parse with `Money::parse` where the field name is known.
    Raw(String),
    Money(Money),
    /// A signed amount in fen (ledger entries and balances), two decimals.
    Signed(i64),
}

impl Decimal {
    pub fn raw(&self) -> String {
        match self {
            Decimal::Raw(s) => s.clone(),
            Decimal::Money(m) => m.to_string(),
            Decimal::Signed(fen) => rust_decimal::Decimal::new(*fen, 2).to_string(),
        }
    }
}

impl From<Money> for Decimal {
    fn from(m: Money) -> Self {
        Decimal::Money(m)
    }
}

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Decimal::Raw(s)),
            Value::Number(n) => Ok(Decimal::Raw(n.to_string())),
            other => Err(InputValueError::expected_type(other)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.raw())
    }
}
