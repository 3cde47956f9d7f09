//! Opaque cursors and page-size limits shared by every connection in the API.
use crate::core::error::{DomainError, DomainResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait};

pub const MAX_PAGE: i64 = 200;

/// Checks `first` (1..=200) and returns it as a row count.
pub fn page_size(first: Option<i64>) -> DomainResult<u64> {
    let n = first.unwrap_or(50);
    if !(0..=MAX_PAGE).contains(&n) {
        return Err(DomainError::validation("first", "first 必须在 0 到 200 之间"));
    }
    Ok(n as u64)
}

pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("sn:{id}"))
}

pub fn decode_cursor(cursor: Option<&str>) -> DomainResult<Option<i64>> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || DomainError::validation("after", "游标无效");
    let raw = URL_SAFE_NO_PAD.decode(c.as_bytes()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let id = text
        .strip_prefix("sn:")
        .ok_or_else(bad)?
        .parse::<i64>()
        .map_err(|_| bad())?;
    Ok(Some(id))
}

/// What a client asked of a list: how many rows, after which cursor, and whether it wants the
/// total (counting a large filter costs more than the page itself, so it is skipped when
/// nobody reads it).
#[derive(Clone, Copy, Debug)]
pub struct PageArgs<'a> {
    pub first: Option<i64>,
    pub after: Option<&'a str>,
    pub with_total: bool,
}

/// The equality a list is grouped by — a campaign's rows, the jobs of one status — as the head
/// of the index its pages walk: `(lead, [other equal filters,] id)`.
///
/// Why it is not a plain `lead = value`: PostgreSQL folds a column equated to a constant out of
/// the sort order, so `WHERE campaign_id = $1 ORDER BY id` may also be read by walking the
/// primary key and filtering by campaign. The planner prices that walk as if the campaign's rows
/// were spread evenly over the ids; for a campaign whose rows sit at the end of the table (a
/// large campaign created last) it reads the whole table to return 50 rows, under generic and
/// custom plans alike. Written as `lead = ANY(ARRAY[value])`, the lead is not a constant to the
/// planner, so `ORDER BY lead, id` can only be served by an index that starts with the lead
/// (a range scan that stops after the page) or by sorting every matching row, which it prices
/// correctly. The estimate stays an equality's. SQLite plans the plain equality well (and has no
/// arrays), so it gets `lead = value`. `tests/e2e/plans.rs` checks both.
pub struct Lead<C> {
    pub column: C,
    /// A value, or a scalar sub-query (NULL, so no rows, when it finds nothing).
    pub value: Expr,
}

impl<C: sea_orm::ColumnTrait> Lead<C> {
    pub fn new(column: C, value: impl Into<Expr>) -> Self {
        Lead {
            column,
            value: value.into(),
        }
    }

    /// For the count: the value is written into the statement, so a generic plan counts a
    /// rare status (or a campaign) by its own statistics instead of the column's average,
    /// which for a skewed column means reading the whole table.
    fn equals(&self) -> Expr {
        let value = match &self.value {
            Expr::Value(v) => Expr::Constant(v.clone()),
            other => other.clone(),
        };
        Expr::col(self.column.as_column_ref()).eq(value)
    }

    fn page_condition(&self, backend: sea_orm::DbBackend) -> Expr {
        match backend {
            // The brackets go in as custom text: the template tokenizer takes `[…]` for a
            // quoted name and would leave `$2` unreplaced.
            sea_orm::DbBackend::Postgres => Expr::cust_with_exprs(
                "$1 = ANY(ARRAY $2 $3 $4)",
                [
                    Expr::col(self.column.as_column_ref()),
                    Expr::cust("["),
                    self.value.clone(),
                    Expr::cust("]"),
                ],
            ),
            _ => Expr::col(self.column.as_column_ref()).eq(self.value.clone()),
        }
    }
}

/// Runs a filtered query as one page: the filter's total (when asked) and `first` rows after
/// the cursor by id (newest first when `descending`), one extra row to know whether more
/// follow. The count and the page go to the database side by side. `lead` names the equality
/// the list is grouped by (see [`Lead`]); `query` carries the other filters.
/// Rows come as `M`: the entity's model, or a partial model naming only the columns shown.
pub async fn fetch<E, C, M>(
    db: &sea_orm::DatabaseConnection,
    query: sea_orm::Select<E>,
    lead: Option<Lead<C>>,
    id: C,
    args: PageArgs<'_>,
    descending: bool,
) -> DomainResult<Page<M>>
where
    E: sea_orm::EntityTrait<Column = C>,
    E::Model: Send + Sync,
    C: sea_orm::ColumnTrait,
    M: sea_orm::PartialModelTrait + Send + Sync,
{
    use sea_orm::{Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = page_size(args.first)?;
    let after = decode_cursor(args.after)?;
    let order = if descending { Order::Desc } else { Order::Asc };
    let count = async {
        if args.with_total {
            let mut q = query.clone();
            if let Some(l) = &lead {
                q = q.filter(l.equals());
            }
            q.count(db).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let mut q = query.clone();
    if let Some(l) = &lead {
        q = q
            .filter(l.page_condition(db.get_database_backend()))
            .order_by(l.column, order.clone());
    }
    if let Some(a) = after {
        q = q.filter(if descending { id.lt(a) } else { id.gt(a) });
    }
    q = q.order_by(id, order);
    let (total, mut items) = futures::try_join!(count, q.limit(limit + 1).into_partial_model::<M>().all(db))?;
    let has_next = items.len() as u64 > limit;
    items.truncate(limit as usize);
    Ok(Page {
        items,
        has_next,
        total,
    })
}

/// A scalar sub-query as a value (`(SELECT …)`), e.g. a [`Lead`] that is NULL when the caller
/// may not see the campaign.
pub fn scalar(select: sea_orm::sea_query::SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(select.into()))
}

/// A page of rows with the flag the contract's `PageInfo.hasNextPage` needs.
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    /// The filter's total; `None` when it was not asked for.
    pub total: Option<u64>,
}

/// Parses an `ID!` argument. Anything that is not one of ours is simply not found.
pub fn parse_id(raw: &str, what: &'static str) -> DomainResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| DomainError::not_found(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        assert_eq!(decode_cursor(Some(&encode_cursor(42))).unwrap(), Some(42));
        assert_eq!(decode_cursor(Some("garbage!")).unwrap_err().code(), "VALIDATION");
        assert_eq!(page_size(Some(201)).unwrap_err().code(), "VALIDATION");
        assert_eq!(page_size(None).unwrap(), 50);
        assert_eq!(parse_id("x", "用户").unwrap_err().code(), "NOT_FOUND");
    }

    /// The lead is an array of one on PostgreSQL (see `Lead`), a plain equality on SQLite.
    #[test]
    fn the_lead_hides_its_constant_from_postgresql_only() {
        use entities::recipient;
        use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryOrder, QueryTrait};
        let lead = Lead::new(recipient::Column::CampaignId, Expr::val(7i64));
        let q = |b: DbBackend| {
            recipient::Entity::find()
                .filter(lead.page_condition(b))
                .order_by_asc(recipient::Column::CampaignId)
                .build(b)
                .sql
        };
        assert!(
            q(DbBackend::Postgres)
                .contains(r#"WHERE "recipients"."campaign_id" = ANY(ARRAY [ $1 ]) ORDER BY"#),
            "{}",
            q(DbBackend::Postgres)
        );
        assert!(
            q(DbBackend::Sqlite).contains(r#"WHERE "recipients"."campaign_id" = ? ORDER BY"#),
            "{}",
            q(DbBackend::Sqlite)
        );
    }
}
