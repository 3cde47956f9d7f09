//! Procurement (政府采购): suppliers identified by their 统一社会信用代码 (GB 32100-2015),
//! contracts of a campaign with their lines (item, quantity, unit price), deliveries (到货),
//! payments to the supplier (through the budget guard and the special ledger), and the
//! allocation of delivered units to GOODS disbursements.
//!
//! `suppliers`, `contracts` (with the allocation to GOODS disbursements), `deliveries`,
//! `payments`; `checks` holds what they share.
pub mod checks;
pub mod contracts;
pub mod deliveries;
pub mod payments;
pub mod suppliers;

#[cfg(test)]
mod tests;

// Public face (`domain::procurement::…`); code inside the crate imports from the files above.
pub use contracts::{
    ContractView, NewContract, NewLine, allocate_line, contracts, create_contract, release_line,
};
pub use deliveries::record_delivery;
pub use payments::pay_contract;
pub use suppliers::{CreditCode, create_supplier, suppliers};
