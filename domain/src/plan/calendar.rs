//! The official mainland-China working-day calendar (放假 and 调休上班), used to count deadlines in
//! working days. Built from rows rather than hard-coded because each November a new year is added.
use crate::core::error::DomainError;
use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Largest `days` accepted by [`Calendar::working_days_after`]: about ten years, which bounds the
/// day-by-day walk while staying far beyond any real deadline.
pub const MAX_DAYS: u32 = 3660;

/// The dates the system accepts and answers: far beyond any campaign, yet a year 9999 or a
/// sum past it is refused as `VALIDATION` instead of printing `+10014-01-10`.
pub const FIRST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
pub const LAST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2200, 12, 31).expect("valid date");

/// Whether a date lies within `FIRST_DATE..=LAST_DATE`.
pub fn in_supported_range(d: NaiveDate) -> bool {
    (FIRST_DATE..=LAST_DATE).contains(&d)
}

/// The shipped State Council arrangements; the database table is seeded from it.
const OFFICIAL_CSV: &str = include_str!("../../data/cn-official-2025-2026.csv");

crate::core::codes::coded_enum! {
    pub enum DayKind {
        /// 放假: not a working day, whatever the day of the week.
        Holiday = "holiday",
        /// 调休上班: a weekend day that is worked to make up for a holiday.
        Workday = "workday",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// The festival the notice lists the day under, e.g. "春节".
    pub name: String,
}

/// Result of [`Calendar::working_days_after`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingDays {
    pub date: NaiveDate,
    /// Part of the count fell in a year whose arrangements are not published yet, so holidays
    /// there were ignored and the date may move once that year is added.
    pub provisional: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("第 1 行：表头应为 date,kind,name")]
    Header,
    #[error("第 {line} 行：应为 3 列（date,kind,name），实际为 {found} 列")]
    Columns { line: usize, found: usize },
    #[error("第 {line} 行：日期“{value}”无效，应为 YYYY-MM-DD 格式的真实日期")]
    BadDate { line: usize, value: String },
    #[error("第 {line} 行：类型“{value}”无效，应为 holiday（放假）或 workday（调休上班）")]
    BadKind { line: usize, value: String },
    #[error("第 {line} 行：名称不能为空")]
    EmptyName { line: usize },
    #[error("第 {line} 行：日期 {date} 与第 {first_line} 行重复")]
    DuplicateDate {
        line: usize,
        date: NaiveDate,
        first_line: usize,
    },
    #[error("第 {line} 行：{date} 是{zh}，调休上班日只能是周六或周日", zh = weekday_zh(.weekday))]
    WorkdayOnWeekday {
        line: usize,
        date: NaiveDate,
        weekday: Weekday,
    },
    #[error("天数超出范围（应为 0 至 {max}）", max = MAX_DAYS)]
    DaysOutOfRange { days: u32 },
    #[error("日期超出范围")]
    DateOutOfRange,
}

/// Every calendar error is bad input (an uploaded file, a requested day count), never a fault.
impl From<CalendarError> for DomainError {
    fn from(e: CalendarError) -> Self {
        DomainError::Validation {
            field: None,
            message: e.to_string().into(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    kinds: BTreeMap<NaiveDate, DayKind>,
    known_years: BTreeSet<i32>,
}

impl Calendar {
    /// Later entries for the same date win, so an edit can simply be appended.
    pub fn new(days: impl IntoIterator<Item = CalendarDay>) -> Calendar {
        let mut calendar = Calendar::default();
        for day in days {
            calendar.known_years.insert(day.date.year());
            calendar.kinds.insert(day.date, day.kind);
        }
        calendar
    }

    /// The calendar shipped with the program (2025 and 2026).
    pub fn official() -> Calendar {
        // The file is compiled in and checked by a unit test, so a failure here is a build defect.
        Calendar::new(Calendar::parse_csv(OFFICIAL_CSV).expect("内置节假日数据格式错误"))
    }

    /// Reads `date,kind,name` rows (header required, blank lines ignored). Errors name the line,
    /// counted from 1 with the header as line 1, so an administrator can find it in the file.
    pub fn parse_csv(text: &str) -> Result<Vec<CalendarDay>, CalendarError> {
        // Spreadsheet programs save UTF-8 CSV with a byte-order mark.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let header_ok = lines
            .next()
            .is_some_and(|(_, header)| header.split(',').map(str::trim).eq(["date", "kind", "name"]));
        if !header_ok {
            return Err(CalendarError::Header);
        }

        let mut first_line: HashMap<NaiveDate, usize> = HashMap::new();
        let mut days = Vec::new();
        for (line, raw) in lines {
            if raw.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
            let [date, kind, name] = fields[..] else {
                return Err(CalendarError::Columns {
                    line,
                    found: fields.len(),
                });
            };
            let date = parse_date(date).ok_or_else(|| CalendarError::BadDate {
                line,
                value: shown(date),
            })?;
            let kind = kind
                .parse::<DayKind>()
                .ok()
                .ok_or_else(|| CalendarError::BadKind {
                    line,
                    value: shown(kind),
                })?;
            if name.is_empty() {
                return Err(CalendarError::EmptyName { line });
            }
            // In a file, two rows for one date are a mistake; `Calendar::new` lets the later win only
            // so that run-time edits can be layered.
            if let Some(&first) = first_line.get(&date) {
                return Err(CalendarError::DuplicateDate {
                    line,
                    date,
                    first_line: first,
                });
            }
            // A make-up working day on Monday–Friday changes nothing and signals a typo in the date.
            if kind == DayKind::Workday && !is_weekend(date) {
                return Err(CalendarError::WorkdayOnWeekday {
                    line,
                    date,
                    weekday: date.weekday(),
                });
            }
            first_line.insert(date, line);
            days.push(CalendarDay {
                date,
                kind,
                name: name.to_owned(),
            });
        }
        Ok(days)
    }

    /// Whether the arrangements for `year` are loaded; a year with no entry at all is taken as not
    /// yet published (every real year has at least 元旦).
    pub fn knows_year(&self, year: i32) -> bool {
        self.known_years.contains(&year)
    }

    /// For a year the calendar does not know, only weekends are days off.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        match self.kinds.get(&d) {
            Some(DayKind::Workday) => true,
            Some(DayKind::Holiday) => false,
            None => !is_weekend(d),
        }
    }

    /// The `days`-th working day after `date` (date itself not counted). `provisional` is true when
    /// any day walked over (from date+1 to the result inclusive) lies in a year the calendar does not
    /// know (then weekends-only was used for that part).
    ///
    /// With `days == 0` the result is `date` itself, even if `date` is not a working day, and it is
    /// provisional exactly when `date`'s year is unknown: nothing is walked, but the caller gets
    /// `date` as a deadline and should not take it as settled when that year's holidays are missing.
    pub fn working_days_after(&self, date: NaiveDate, days: u32) -> Result<WorkingDays, CalendarError> {
        if days > MAX_DAYS {
            return Err(CalendarError::DaysOutOfRange { days });
        }
        if !in_supported_range(date) {
            return Err(CalendarError::DateOutOfRange);
        }
        let mut current = date;
        let mut provisional = days == 0 && !self.knows_year(date.year());
        let mut left = days;
        while left > 0 {
            current = current
                .succ_opt()
                .filter(|d| *d <= LAST_DATE)
                .ok_or(CalendarError::DateOutOfRange)?;
            provisional |= !self.knows_year(current.year());
            if self.is_working_day(current) {
                left -= 1;
            }
        }
        Ok(WorkingDays {
            date: current,
            provisional,
        })
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Strict `YYYY-MM-DD`: chrono alone would also take "2025-1-5", which hides typos.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Echoed input is cut short so that a pasted paragraph does not become the error message.
fn shown(s: &str) -> String {
    const LIMIT: usize = 20;
    if s.chars().count() <= LIMIT {
        s.to_owned()
    } else {
        s.chars().take(LIMIT).chain(['…']).collect()
    }
}

fn weekday_zh(w: &Weekday) -> &'static str {
    match w {
        Weekday::Mon => "周一",
        Weekday::Tue => "周二",
        Weekday::Wed => "周三",
        Weekday::Thu => "周四",
        Weekday::Fri => "周五",
        Weekday::Sat => "周六",
        Weekday::Sun => "周日",
    }
}

#[cfg(test)]
mod tests {
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
}
