//! Opaque cursors and page-size limits shared by every connection in the API.
use crate::core::error::{DomainError, DomainResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

/// Runs a filtered query as one page: the filter's total (when asked) and `first` rows after
/// the cursor by id (newest first when `descending`), one extra row to know whether more
/// follow. The count and the page go to the database side by side.
/// Rows come as `M`: the entity's model, or a partial model naming only the columns shown.
pub async fn fetch<E, C, M>(
    db: &sea_orm::DatabaseConnection,
    query: sea_orm::Select<E>,
    id: C,
    args: PageArgs<'_>,
    descending: bool,
) -> DomainResult<Page<M>>
where
    E: sea_orm::EntityTrait,
    E::Model: Send + Sync,
    C: sea_orm::ColumnTrait,
    M: sea_orm::PartialModelTrait + Send + Sync,
{
    use sea_orm::{PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
    let limit = page_size(args.first)?;
    let after = decode_cursor(args.after)?;
    let count = async {
        if args.with_total {
            query.clone().count(db).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let mut q = query.clone();
    if let Some(a) = after {
        q = q.filter(if descending { id.lt(a) } else { id.gt(a) });
    }
    q = if descending {
        q.order_by_desc(id)
    } else {
        q.order_by_asc(id)
    };
    let (total, mut items) = futures::try_join!(count, q.limit(limit + 1).into_partial_model::<M>().all(db))?;
    let has_next = items.len() as u64 > limit;
    items.truncate(limit as usize);
    Ok(Page {
        items,
        has_next,
        total,
    })
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
}
