use super::checks::*;
use super::contracts::*;
use super::suppliers::*;
use chrono::NaiveDate;
use proptest::prelude::*;

/// Codes checked by hand against the GB 32100 formula (published examples).
const VALID: [&str; 4] = [
    "91350100M000100Y43",
    "91110000802100433B",
    "91440300708461136T",
    "91330000142916567N",
];

#[test]
fn known_good_codes_parse() {
    for c in VALID {
        assert_eq!(CreditCode::parse(c).unwrap().as_str(), c);
        assert_eq!(CreditCode::check_char(&c[..17]), c.chars().last());
    }
}

#[test]
fn lower_case_and_spaces_are_normalised() {
    let c = CreditCode::parse("  91350100m000100y43 ").unwrap();
    assert_eq!(c.to_string(), "91350100M000100Y43");
}

#[test]
fn known_bad_codes_are_refused_on_credit_code() {
    for bad in [
        "91350100M000100Y44", // wrong check character
        "91350100M000100Y4",  // 17 characters
        "91350100M000100Y433",
        "",
        "91350100I000100Y43", // I is not in the charset
        "91350100M0001O0Y43", // neither is O
        "9135010OM000100Y43",
        "01350100M000100Y43",  // registrar 0 does not exist
        "913501A0M000100Y43",  // region code must be digits
        "９1350100M000100Y43", // full-width digit
        "911100001000013983",  // widely copied, but its check character is 4
        "91310000MA1FL4CW8E",  // check character should be D
    ] {
        let e = CreditCode::parse(bad).unwrap_err();
        assert_eq!(e.code(), "VALIDATION", "{bad}");
        assert_eq!(e.field(), Some("creditCode"), "{bad}");
    }
}

fn body() -> impl Strategy<Value = String> {
    let registrar = proptest::sample::select(REGISTRARS.to_vec());
    let any_char = proptest::sample::select(CHARSET.to_vec());
    let digit = proptest::sample::select(b"0123456789".to_vec());
    (
        registrar,
        any_char.clone(),
        proptest::collection::vec(digit, 6),
        proptest::collection::vec(any_char, 9),
    )
        .prop_map(|(r, k, region, rest)| {
            let mut b = vec![r, k];
            b.extend(region);
            b.extend(rest);
            String::from_utf8(b).unwrap()
        })
}

fn valid_code() -> impl Strategy<Value = String> {
    body().prop_map(|b| {
        let check = CreditCode::check_char(&b).unwrap();
        format!("{b}{check}")
    })
}

proptest! {
    #[test]
    fn generated_codes_parse(code in valid_code()) {
        let parsed = CreditCode::parse(&code).unwrap();
        prop_assert_eq!(parsed.as_str(), code.as_str());
        prop_assert!(CreditCode::parse(&code.to_lowercase()).is_ok());
    }

    #[test]
    fn any_single_substitution_is_caught(
        code in valid_code(),
        pos in 0usize..18,
        replacement in proptest::sample::select(CHARSET.to_vec()),
    ) {
        let mut b = code.clone().into_bytes();
        prop_assume!(b[pos] != replacement);
        b[pos] = replacement;
        let changed = String::from_utf8(b).unwrap();
        let e = CreditCode::parse(&changed).unwrap_err();
        prop_assert_eq!(e.field(), Some("creditCode"));
    }

    #[test]
    fn arbitrary_input_never_panics(raw in "\\PC{0,24}") {
        let _ = CreditCode::parse(&raw);
    }
}

fn line(item: &str, quantity: i32, price: &str) -> NewLine {
    NewLine {
        item: item.into(),
        quantity,
        unit_price: price.into(),
    }
}

fn contract_with(lines: Vec<NewLine>) -> NewContract {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    NewContract {
        campaign_id: 1,
        supplier_id: 1,
        reference: "FMCG-2025-001".into(),
        signed_on: d("2025-01-10"),
        delivery_date: d("2025-01-20"),
        after_sale_terms: "质量问题七日内包换".into(),
        lines,
    }
}

#[test]
fn contract_total_is_the_sum_of_its_lines() {
    let v = validate_contract(&contract_with(vec![
        line("大米 10kg", 100, "55.50"),
        line("食用油 5L", 40, "79.90"),
    ]))
    .unwrap();
    assert_eq!(v.total_fen, 100 * 5550 + 40 * 7990);
}

#[test]
fn bad_contracts_name_their_field() {
    let field = |c: NewContract| validate_contract(&c).err().unwrap().field().map(String::from);
    assert_eq!(field(contract_with(vec![])).as_deref(), Some("lines"));
    assert_eq!(
        field(contract_with(vec![line("米", 0, "1.00")])).as_deref(),
        Some("quantity")
    );
    assert_eq!(
        field(contract_with(vec![line("米", 1, "1.001")])).as_deref(),
        Some("unitPrice")
    );
    assert_eq!(
        field(contract_with(vec![line("米", 1, "0")])).as_deref(),
        Some("unitPrice")
    );
    assert_eq!(
        field(contract_with(vec![line(" ", 1, "1")])).as_deref(),
        Some("item")
    );
    assert_eq!(
        field(contract_with(vec![
            line("米", MAX_QUANTITY, "9999999999.99"),
            line("油", MAX_QUANTITY, "9999999999.99"),
        ]))
        .as_deref(),
        Some("lines")
    );
    let mut early = contract_with(vec![line("米", 1, "1")]);
    early.delivery_date = early.signed_on.pred_opt().unwrap();
    assert_eq!(field(early).as_deref(), Some("deliveryDate"));
    let mut no_terms = contract_with(vec![line("米", 1, "1")]);
    no_terms.after_sale_terms = "  ".into();
    assert_eq!(field(no_terms).as_deref(), Some("afterSaleTerms"));
    let mut long_terms = contract_with(vec![line("米", 1, "1")]);
    long_terms.after_sale_terms = "保".repeat(2001);
    assert_eq!(field(long_terms).as_deref(), Some("afterSaleTerms"));
    let e = validate_contract(&contract_with(vec![line("米", 1, "1"), line("油", -1, "1")])).unwrap_err();
    assert!(e.to_string().starts_with("第 2 项"), "{e}");
}
