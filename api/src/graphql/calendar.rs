//! The official working-day calendar: `workingDaysAfter`, `calendarDays` and ADMIN's
//! `setCalendarDays` (which also recomputes provisional entry deadlines).
use super::context::{actor, services};
use super::enums::DayKind;
use super::errors::ApiResult;
use super::scalars::Date;
use async_graphql::{Context, InputObject, Object, SimpleObject};
use domain::calendar::CalendarDay as DDay;
use domain::calendar_store::{self as rules, DayInput};

/// A day the official arrangements list; other days follow the week (Saturday, Sunday off).
#[derive(SimpleObject)]
pub struct CalendarDay {
    date: Date,
    kind: DayKind,
    /// The festival the notice lists the day under, e.g. "春节".
    name: String,
}

impl From<DDay> for CalendarDay {
    fn from(d: DDay) -> Self {
        CalendarDay {
            date: Date(d.date),
            kind: d.kind.into(),
            name: d.name,
        }
    }
}

#[derive(InputObject)]
pub struct CalendarDayInput {
    date: Date,
    kind: DayKind,
    /// 1–50 characters.
    name: String,
}

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    /// The `days`-th working day after `date` (date itself not counted), on the official calendar
    /// (holidays off, 调休 weekends on); `days` from 0 to 3660. In a year whose arrangements are
    /// not loaded yet only weekends are off.
    async fn working_days_after(&self, ctx: &Context<'_>, date: Date, days: i32) -> ApiResult<Date> {
        let s = services(ctx);
        let w = rules::working_days_after(s, actor(ctx)?, date.0, days).await?;
        Ok(Date(w.date))
    }

    /// The listed days of one year, by date (empty for a year not loaded yet).
    async fn calendar_days(&self, ctx: &Context<'_>, year: i32) -> ApiResult<Vec<CalendarDay>> {
        let s = services(ctx);
        let days = rules::list_days(s, actor(ctx)?, year).await?;
        Ok(days.into_iter().map(CalendarDay::from).collect())
    }
}

#[derive(Default)]
pub struct CalendarMutation;

#[Object]
impl CalendarMutation {
    /// ADMIN: adds or replaces up to 400 days (a WORKDAY must be a Saturday or Sunday, each date
    /// once), then recomputes the provisional entry deadlines. Returns the days sent, by date.
    async fn set_calendar_days(
        &self,
        ctx: &Context<'_>,
        days: Vec<CalendarDayInput>,
    ) -> ApiResult<Vec<CalendarDay>> {
        let s = services(ctx);
        let input = days
            .into_iter()
            .map(|d| DayInput {
                date: d.date.0,
                kind: domain::calendar::DayKind::from(d.kind).as_str().to_string(),
                name: d.name,
            })
            .collect();
        let stored = rules::set_days(s, actor(ctx)?, input).await?;
        Ok(stored.into_iter().map(CalendarDay::from).collect())
    }
}
