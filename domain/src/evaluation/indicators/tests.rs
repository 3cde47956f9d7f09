//! Unit tests of the indicator arithmetic (percentages, shares, grades, hand scores).
use super::*;

#[test]
fn percentages_and_points() {
    assert_eq!(percent(15_000_000, 15_000_000), "100%");
    assert_eq!(percent(197, 200), "98.5%");
    assert_eq!(percent(1, 3), "33.33%");
    assert_eq!(percent(2, 3), "66.67%");
    assert_eq!(percent(0, 0), "0%");
    assert_eq!(points(1400), "14");
    assert_eq!(points(1350), "13.5");
    assert_eq!(points(9800), "98");
}

#[test]
fn shares_are_capped_and_rounded_half_up() {
    assert_eq!(share(1000, 5, 5), 1000);
    assert_eq!(share(1000, 6, 5), 1000);
    assert_eq!(share(1000, 1, 3), 333);
    assert_eq!(share(1000, 2, 3), 667);
    assert_eq!(share(1000, 0, 3), 0);
    // Satisfaction: 27 of 30 satisfied is 90%: full marks; 26 of 30 is 86.67% / 90%.
    assert_eq!(share(1000, 27 * 10, 30 * 9), 1000);
    assert_eq!(share(1000, 26 * 10, 30 * 9), 963);
}

#[test]
fn grades_follow_the_thresholds() {
    assert_eq!(Grade::of_centi(9800), Grade::Excellent);
    assert_eq!(Grade::of_centi(9000), Grade::Excellent);
    assert_eq!(Grade::of_centi(8999), Grade::Good);
    assert_eq!(Grade::of_centi(6000), Grade::Fair);
    assert_eq!(Grade::of_centi(5999), Grade::Poor);
}

#[test]
fn scores_need_two_decimals_at_most_and_no_sign() {
    assert_eq!(score_in_centi(14.0).unwrap(), 1400);
    assert_eq!(score_in_centi(13.25).unwrap(), 1325);
    assert_eq!(score_in_centi(-1.0).unwrap_err().field(), Some("score"));
    assert_eq!(score_in_centi(1.234).unwrap_err().field(), Some("score"));
    assert_eq!(score_in_centi(f64::NAN).unwrap_err().field(), Some("score"));
}

#[test]
fn the_default_template_sums_to_one_hundred() {
    let first: i32 = DEFAULT_TEMPLATE
        .iter()
        .filter(|r| r.parent.is_none())
        .map(|r| r.weight)
        .sum();
    assert_eq!(first, 100);
    for parent in DEFAULT_TEMPLATE.iter().filter(|r| r.rule == Rule::Sum) {
        let children: i32 = DEFAULT_TEMPLATE
            .iter()
            .filter(|r| r.parent == Some(parent.code))
            .map(|r| r.weight)
            .sum();
        assert_eq!(children, parent.weight, "{}", parent.code);
    }
}
