use super::*;
use chrono::Days;
use proptest::prelude::*;
use std::sync::LazyLock;

static OFFICIAL: LazyLock<Calendar> = LazyLock::new(Calendar::official);

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn after(date: NaiveDate, days: u32) -> WorkingDays {
    OFFICIAL.working_days_after(date, days).unwrap()
}

fn settled(date: NaiveDate) -> WorkingDays {
    WorkingDays {
        date,
        provisional: false,
    }
}

fn provisional(date: NaiveDate) -> WorkingDays {
    WorkingDays {
        date,
        provisional: true,
    }
}

#[test]
fn shipped_file_parses_and_covers_2025_and_2026() {
    let rows = Calendar::parse_csv(OFFICIAL_CSV).unwrap();
    assert_eq!(rows.len(), 72);
    assert_eq!(rows.iter().filter(|r| r.kind == DayKind::Workday).count(), 11);
    assert!(rows.iter().all(|r| matches!(r.date.year(), 2025 | 2026)));
    let cal = Calendar::official();
    assert!(cal.knows_year(2025) && cal.knows_year(2026));
    assert!(!cal.knows_year(2024) && !cal.knows_year(2027));
    assert_eq!(
        rows.iter().find(|r| r.date == d(2025, 1, 28)).unwrap().name,
        "春节"
    );
}

#[test]
fn spring_festival_2025_with_make_up_days() {
    assert_eq!(after(d(2025, 1, 27), 30), settled(d(2025, 3, 17)));
    // 01-27 (Mon) is the last day before the 8-day break; the next is 02-05.
    assert_eq!(after(d(2025, 1, 27), 1), settled(d(2025, 2, 5)));
    // 02-08 (Sat) is worked, so Friday + 1 lands on it.
    assert_eq!(after(d(2025, 2, 7), 1), settled(d(2025, 2, 8)));
    assert_eq!(after(d(2025, 2, 8), 1), settled(d(2025, 2, 10)));
}

#[test]
fn make_up_sunday_counts() {
    // 2025-01-26 (Sun) is worked before Spring Festival.
    assert_eq!(after(d(2025, 1, 24), 1), settled(d(2025, 1, 26)));
    assert_eq!(after(d(2025, 1, 24), 2), settled(d(2025, 1, 27)));
    assert_eq!(after(d(2025, 1, 24), 3), settled(d(2025, 2, 5)));
    // 2025-04-27 (Sun) is worked before Labour Day.
    assert_eq!(after(d(2025, 4, 25), 1), settled(d(2025, 4, 27)));
}

#[test]
fn national_day_2025_block() {
    assert_eq!(after(d(2025, 9, 30), 1), settled(d(2025, 10, 9)));
    assert_eq!(after(d(2025, 9, 26), 1), settled(d(2025, 9, 28)));
    assert_eq!(after(d(2025, 10, 10), 1), settled(d(2025, 10, 11)));
    assert!(OFFICIAL.is_working_day(d(2025, 9, 28)));
    assert!(OFFICIAL.is_working_day(d(2025, 10, 11)));
    for day in 1..=8 {
        assert!(!OFFICIAL.is_working_day(d(2025, 10, day)), "2025-10-{day:02}");
    }
}

#[test]
fn across_new_year_2026() {
    for day in 1..=3 {
        assert!(!OFFICIAL.is_working_day(d(2026, 1, day)), "2026-01-0{day}");
    }
    // 2026-01-04 is a Sunday worked for 元旦.
    assert!(OFFICIAL.is_working_day(d(2026, 1, 4)));
    assert_eq!(after(d(2025, 12, 31), 1), settled(d(2026, 1, 4)));
    assert_eq!(after(d(2025, 12, 31), 2), settled(d(2026, 1, 5)));
    assert_eq!(after(d(2025, 12, 30), 2), settled(d(2026, 1, 4)));
}

#[test]
fn unknown_year_uses_weekends_only_and_is_provisional() {
    // 2027-01-01 will surely be 元旦, but until it is loaded only weekends are off.
    assert!(OFFICIAL.is_working_day(d(2027, 1, 1)));
    assert!(!OFFICIAL.is_working_day(d(2027, 1, 2)));
    assert!(!OFFICIAL.is_working_day(d(2027, 1, 3)));
    assert_eq!(after(d(2027, 3, 5), 1), provisional(d(2027, 3, 8)));
    assert_eq!(after(d(2027, 3, 1), 4), provisional(d(2027, 3, 5)));
    // A walk that only touches 2026 is settled; one step into 2027 is not.
    assert_eq!(after(d(2026, 12, 30), 1), settled(d(2026, 12, 31)));
    assert_eq!(after(d(2026, 12, 30), 2), provisional(d(2027, 1, 1)));
    assert_eq!(after(d(2026, 12, 30), 3), provisional(d(2027, 1, 4)));
}

#[test]
fn unknown_start_year_matters_only_if_walked_over() {
    // The start date is not walked over; 2025-01-01 (元旦) is skipped.
    assert_eq!(after(d(2024, 12, 31), 1), settled(d(2025, 1, 2)));
    assert_eq!(after(d(2024, 12, 30), 2), provisional(d(2025, 1, 2)));
}

#[test]
fn zero_days_is_the_date_itself() {
    assert_eq!(after(d(2025, 10, 1), 0), settled(d(2025, 10, 1)));
    assert_eq!(after(d(2025, 10, 4), 0), settled(d(2025, 10, 4)));
    assert_eq!(after(d(2027, 1, 1), 0), provisional(d(2027, 1, 1)));
}

#[test]
fn day_count_is_capped() {
    assert!(OFFICIAL.working_days_after(d(2025, 1, 1), MAX_DAYS).is_ok());
    let e = OFFICIAL
        .working_days_after(d(2025, 1, 1), MAX_DAYS + 1)
        .unwrap_err();
    assert_eq!(e, CalendarError::DaysOutOfRange { days: 3661 });
    assert!(e.to_string().contains("天数超出范围"), "{e}");
    let de = DomainError::from(e);
    assert_eq!(de.code(), "VALIDATION");
    assert!(de.to_string().contains("天数超出范围"));
}

#[test]
fn walking_past_the_last_date_is_an_error() {
    let near_end = NaiveDate::MAX.checked_sub_days(Days::new(3)).unwrap();
    assert_eq!(
        OFFICIAL.working_days_after(near_end, 10),
        Err(CalendarError::DateOutOfRange)
    );
    let year_9999 = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
    assert_eq!(
        OFFICIAL.working_days_after(year_9999, 3660),
        Err(CalendarError::DateOutOfRange)
    );
    // Within the range until the walk would leave it.
    let late = NaiveDate::from_ymd_opt(2200, 12, 20).unwrap();
    assert!(OFFICIAL.working_days_after(late, 5).is_ok());
    assert_eq!(
        OFFICIAL.working_days_after(late, 20),
        Err(CalendarError::DateOutOfRange)
    );
    assert_eq!(
        OFFICIAL.working_days_after(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap(), 1),
        Err(CalendarError::DateOutOfRange)
    );
}

#[test]
fn is_working_day_for_each_kind() {
    // Listed workday on a Saturday.
    assert!(OFFICIAL.is_working_day(d(2025, 2, 8)));
    // Listed holiday on a Monday and on a Saturday.
    assert!(!OFFICIAL.is_working_day(d(2025, 2, 3)));
    assert!(!OFFICIAL.is_working_day(d(2025, 2, 1)));
    // Unlisted weekday and weekend days in a known year.
    assert!(OFFICIAL.is_working_day(d(2025, 3, 12)));
    assert!(!OFFICIAL.is_working_day(d(2025, 3, 15)));
    assert!(!OFFICIAL.is_working_day(d(2025, 3, 16)));
}

#[test]
fn new_lets_later_entries_win_and_learns_years() {
    let row = |date, kind| CalendarDay {
        date,
        kind,
        name: "测试".into(),
    };
    let sat = d(2027, 1, 2);
    let cal = Calendar::new([row(sat, DayKind::Holiday), row(sat, DayKind::Workday)]);
    assert!(cal.is_working_day(sat));
    let cal = Calendar::new([row(sat, DayKind::Workday), row(sat, DayKind::Holiday)]);
    assert!(!cal.is_working_day(sat));

    // Adding 2027 at run time settles walks in it and applies its holidays.
    let mut rows = Calendar::parse_csv(OFFICIAL_CSV).unwrap();
    rows.push(row(d(2027, 1, 1), DayKind::Holiday));
    let cal = Calendar::new(rows);
    assert!(cal.knows_year(2027));
    assert_eq!(
        cal.working_days_after(d(2026, 12, 30), 2).unwrap(),
        settled(d(2027, 1, 4))
    );
    assert!(!Calendar::default().knows_year(2025));
}

#[test]
fn parse_accepts_bom_crlf_blank_lines_and_any_holiday() {
    let text = "\u{feff}date,kind,name\r\n2025-01-01,holiday,元旦\r\n\r\n 2025-02-01 , holiday , 春节 \r\n\
                2025-02-08,workday,春节\r\n";
    let rows = Calendar::parse_csv(text).unwrap();
    assert_eq!(
        rows,
        vec![
            CalendarDay {
                date: d(2025, 1, 1),
                kind: DayKind::Holiday,
                name: "元旦".into()
            },
            CalendarDay {
                date: d(2025, 2, 1),
                kind: DayKind::Holiday,
                name: "春节".into()
            },
            CalendarDay {
                date: d(2025, 2, 8),
                kind: DayKind::Workday,
                name: "春节".into()
            },
        ]
    );
    assert_eq!(Calendar::parse_csv("date,kind,name\n").unwrap(), vec![]);
    for kind in [DayKind::Holiday, DayKind::Workday] {
        assert_eq!(kind.as_str().parse::<DayKind>(), Ok(kind));
    }
}

fn parse_err(rows: &str) -> CalendarError {
    // Header on line 1, a valid row on line 2, a blank line 3, so `rows` starts on line 4.
    let text = format!("date,kind,name\n2025-01-01,holiday,元旦\n\n{rows}");
    Calendar::parse_csv(&text).unwrap_err()
}

#[test]
fn parse_rejects_bad_rows_naming_the_line() {
    let e = parse_err("2025-01-28,holiday,春节\n2025-01-29,Holiday,春节\n");
    assert_eq!(
        e,
        CalendarError::BadKind {
            line: 5,
            value: "Holiday".into()
        }
    );
    assert!(e.to_string().starts_with("第 5 行："), "{e}");

    for bad in [
        "2025-02-30",
        "2025-1-05",
        "2025/01/05",
        "20250105",
        "",
        "+2025-01-5",
    ] {
        let e = parse_err(&format!("{bad},holiday,春节\n"));
        assert_eq!(
            e,
            CalendarError::BadDate {
                line: 4,
                value: bad.into()
            },
            "{bad}"
        );
        assert!(e.to_string().contains("第 4 行"), "{e}");
    }

    let e = parse_err("2025-01-28,holiday,春节\n2025-01-01,workday,元旦\n");
    assert_eq!(
        e,
        CalendarError::DuplicateDate {
            line: 5,
            date: d(2025, 1, 1),
            first_line: 2
        }
    );
    assert_eq!(e.to_string(), "第 5 行：日期 2025-01-01 与第 2 行重复");

    let e = parse_err("2025-01-27,workday,春节\n");
    assert_eq!(
        e,
        CalendarError::WorkdayOnWeekday {
            line: 4,
            date: d(2025, 1, 27),
            weekday: Weekday::Mon
        }
    );
    assert_eq!(
        e.to_string(),
        "第 4 行：2025-01-27 是周一，调休上班日只能是周六或周日"
    );

    assert_eq!(
        parse_err("2025-01-28,holiday\n"),
        CalendarError::Columns { line: 4, found: 2 }
    );
    assert_eq!(
        parse_err("2025-01-28,holiday,春节,多余\n"),
        CalendarError::Columns { line: 4, found: 4 }
    );
    assert_eq!(
        parse_err("2025-01-28,holiday, \n"),
        CalendarError::EmptyName { line: 4 }
    );
}

#[test]
fn parse_requires_the_header() {
    for text in ["", "2025-01-01,holiday,元旦\n", "date,kind\n", "date,type,name\n"] {
        assert_eq!(Calendar::parse_csv(text), Err(CalendarError::Header), "{text:?}");
    }
    let long = "x".repeat(50);
    let e = parse_err(&format!("2025-01-28,{long},春节\n"));
    let CalendarError::BadKind { value, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(value.chars().count(), 21);
}

proptest! {
    #[test]
    fn walk_counts_exactly_the_working_days(offset in 0u64..1095, days in 0u32..200, extra in 0u32..40) {
        let cal = &*OFFICIAL;
        let start = d(2025, 1, 1) + Days::new(offset);
        let got = cal.working_days_after(start, days).unwrap();
        if days == 0 {
            prop_assert_eq!(got.date, start);
            prop_assert_eq!(got.provisional, start.year() == 2027);
        } else {
            prop_assert!(got.date > start);
            prop_assert!(cal.is_working_day(got.date));
            let between = start
                .iter_days()
                .skip(1)
                .take_while(|x| *x < got.date)
                .filter(|x| cal.is_working_day(*x))
                .count();
            prop_assert_eq!(between, days as usize - 1);
            // Walks start in 2025–2027 and go forward, so only reaching 2027 is provisional.
            prop_assert_eq!(got.provisional, got.date.year() >= 2027);
        }
        let later = cal.working_days_after(start, days + extra).unwrap();
        prop_assert!(later.date >= got.date);
        if extra > 0 {
            prop_assert!(later.date > got.date);
        }
    }
}
