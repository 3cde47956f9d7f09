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
mod tests;
