//! Finished answers kept in memory, so that a caller asking the same read-only question again
//! (a screen refreshing its list, several tabs of one caseworker) is answered without running
//! the schema.
//!
//! When an answer may be reused: same caller (user id: role and scope are the user's), same
//! query text, operation name and variables, same calendar day (overdue flags and deadlines
//! depend on today), and the same `data_version`. That number is read in the authentication
//! statement every request runs anyway and advances, by database triggers, when any
//! transaction that wrote an answered table commits, through the API or not (migration
//! `m20260105_000001_data_version`). So an answer is never served after the data it was made
//! from changed; the cost is that every write empties the cache for everyone.
//!
//! Only answers without errors are kept; mutations, uploads and anonymous callers are never
//! cached, nor the audit trail (`NEVER_KEPT`): whoever checks it must read the database as it
//! is, even if someone changed it with the triggers switched off. Nor may any answer that
//! depends on more than the database, the caller and the day (a finer clock, an outside
//! service, process-local state): such a root field belongs in `NEVER_KEPT`.
//!
//! Memory is bounded by a byte budget (`SONGNUAN_ANSWER_CACHE_MB`, 0 turns it off), least
//! recently used first out; one answer may take at most a sixteenth of it. Only masked values
//! are ever in an answer, so no personal data in clear is kept.
//!
//! Requests that miss together share one making (`answer`): after a write, fifty clients
//! refreshing the same list cost one run of the schema, not fifty.
use super::operations::Prepared;
use axum::body::Bytes;
use chrono::NaiveDate;
use lru::LruCache;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Longer query texts or variables are not cached (no client fills memory with keys).
const MAX_KEY_TEXT: usize = 16 * 1024;
/// What an entry costs besides its key and body (list links, the version, the day).
const ENTRY_OVERHEAD: usize = 96;

/// Root fields whose answers are always made afresh.
/// `jobs` reads a table that is not tracked by `data_version` (it changes at every claim).
pub const NEVER_KEPT: [&str; 4] = ["auditLog", "verifyAuditChain", "jobs", "report"];

/// Whether the answer to a prepared query may be kept: it changes nothing and asks for nothing
/// in `NEVER_KEPT`.
pub fn may_keep(prepared: &Prepared) -> bool {
    prepared.read_only
        && !prepared
            .fields
            .iter()
            .any(|(f, _)| NEVER_KEPT.contains(&f.as_str()))
}

pub struct Answers {
    budget: usize,
    inner: Mutex<Kept>,
    /// Answers being made now, by key: later askers of the same version and day wait for it.
    flights: Mutex<HashMap<String, Flight>>,
}

struct Flight {
    version: i64,
    day: NaiveDate,
    cell: Arc<OnceCell<Bytes>>,
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Kept from an earlier request.
    Kept,
    /// Made by a request that was already making it when this one asked.
    Shared,
    /// Made by this request.
    Made,
}

struct Kept {
    lru: LruCache<String, Answer>,
    used: usize,
}

struct Answer {
    version: i64,
    day: NaiveDate,
    body: Bytes,
}

fn cost(key: &str, body: &Bytes) -> usize {
    key.len() + body.len() + ENTRY_OVERHEAD
}

impl Answers {
    pub fn new(budget_bytes: usize) -> Answers {
        Answers {
            budget: budget_bytes,
            inner: Mutex::new(Kept {
                lru: LruCache::unbounded(),
                used: 0,
            }),
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key` at `version` on `day`: kept, shared with a request making it right
    /// now, or made by `make` (which says whether it may be kept).
    pub async fn answer<F, Fut>(&self, key: String, version: i64, day: NaiveDate, make: F) -> (Bytes, Served)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (Bytes, bool)>,
    {
        if let Some(body) = self.get(&key, version, day) {
            return (body, Served::Kept);
        }
        let cell = {
            let Ok(mut flights) = self.flights.lock() else {
                return (make().await.0, Served::Made);
            };
            match flights.get(&key) {
                Some(f) if f.version == version && f.day == day => f.cell.clone(),
                _ => {
                    let cell = Arc::new(OnceCell::new());
                    flights.insert(
                        key.clone(),
                        Flight {
                            version,
                            day,
                            cell: cell.clone(),
                        },
                    );
                    cell
                }
            }
        };
        let _landing = Landing {
            answers: self,
            key: &key,
            cell: &cell,
        };
        let mut made = false;
        let body = cell
            .get_or_init(|| async {
                made = true;
                let (body, keep) = make().await;
                if keep {
                    self.put(key.clone(), version, day, body.clone());
                }
                body
            })
            .await
            .clone();
        if made {
            (body, Served::Made)
        } else {
            metrics::counter!("songnuan_answer_cache_total", "result" => "shared").increment(1);
            (body, Served::Shared)
        }
    }

    pub fn enabled(&self) -> bool {
        self.budget > 0
    }

    /// The cache key of a request by `user_id`, or None when it must not be cached.
    pub fn key(user_id: i64, req: &async_graphql::Request) -> Option<String> {
        if !req.uploads.is_empty() || req.query.len() > MAX_KEY_TEXT {
            return None;
        }
        let variables = serde_json::to_string(&req.variables).ok()?;
        if variables.len() > MAX_KEY_TEXT {
            return None;
        }
        let op = req.operation_name.as_deref().unwrap_or("");
        Some(format!("{user_id}\u{0}{op}\u{0}{variables}\u{0}{}", req.query))
    }

    /// The kept answer for `key` if it was made at `version` on `day`; a stale one is dropped.
    pub fn get(&self, key: &str, version: i64, day: NaiveDate) -> Option<Bytes> {
        let mut kept = self.inner.lock().ok()?;
        let fresh = match kept.lru.get(key) {
            None => None,
            Some(a) if a.version == version && a.day == day => Some(a.body.clone()),
            Some(_) => {
                if let Some((k, old)) = kept.lru.pop_entry(key) {
                    kept.used -= cost(&k, &old.body);
                }
                None
            }
        };
        let result = if fresh.is_some() { "hit" } else { "miss" };
        metrics::counter!("songnuan_answer_cache_total", "result" => result).increment(1);
        fresh
    }

    /// Keeps an answer made at `version` on `day`, making room by dropping the least recently
    /// used ones.
    pub fn put(&self, key: String, version: i64, day: NaiveDate, body: Bytes) {
        let size = cost(&key, &body);
        if size > self.budget / 16 {
            return;
        }
        let Ok(mut kept) = self.inner.lock() else { return };
        if let Some((k, old)) = kept.lru.push(key, Answer { version, day, body }) {
            // The same key replaced (or, never here, an eviction by capacity).
            kept.used -= cost(&k, &old.body);
        }
        kept.used += size;
        while kept.used > self.budget {
            match kept.lru.pop_lru() {
                Some((k, old)) => kept.used -= cost(&k, &old.body),
                None => break,
            }
        }
        metrics::gauge!("songnuan_answer_cache_bytes").set(kept.used as f64);
    }
}

/// Takes a finished flight off the board (later askers find the kept answer, or make a new one
/// if it was not kept), and an abandoned one whose maker went away with no one waiting.
struct Landing<'a> {
    answers: &'a Answers,
    key: &'a str,
    cell: &'a Arc<OnceCell<Bytes>>,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let Ok(mut flights) = self.answers.flights.lock() else {
            return;
        };
        let ours = flights
            .get(self.key)
            .is_some_and(|f| Arc::ptr_eq(&f.cell, self.cell));
        // Two holders: the board and this request — nobody else waits for it.
        if ours && (self.cell.initialized() || Arc::strong_count(self.cell) <= 2) {
            flights.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
    }

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn an_answer_is_reused_only_at_its_version_and_day() {
        let a = Answers::new(1 << 20);
        a.put("k".into(), 7, day(1), body(10));
        assert_eq!(a.get("k", 7, day(1)).unwrap().len(), 10);
        assert!(a.get("k", 7, day(2)).is_none(), "another day");
        // the stale one was dropped: not even the old version finds it now
        assert!(a.get("k", 7, day(1)).is_none());
        a.put("k".into(), 7, day(1), body(10));
        assert!(a.get("k", 8, day(1)).is_none(), "the data changed");
        assert_eq!(a.inner.lock().unwrap().used, 0);
    }

    #[test]
    fn the_byte_budget_holds_and_the_least_recently_used_go_first() {
        let a = Answers::new(16 * 1000);
        for i in 0..40 {
            a.put(format!("k{i}"), 1, day(1), body(900));
            assert!(a.inner.lock().unwrap().used <= 16 * 1000);
        }
        assert!(a.get("k0", 1, day(1)).is_none());
        assert!(a.get("k39", 1, day(1)).is_some());
        // one answer may not take more than a sixteenth
        a.put("big".into(), 1, day(1), body(1001));
        assert!(a.get("big", 1, day(1)).is_none());
    }

    #[test]
    fn replacing_a_key_does_not_count_it_twice() {
        let a = Answers::new(1 << 20);
        a.put("k".into(), 1, day(1), body(100));
        a.put("k".into(), 2, day(1), body(50));
        assert_eq!(a.inner.lock().unwrap().used, cost("k", &body(50)));
    }

    #[tokio::test]
    async fn askers_of_the_same_answer_share_one_making() {
        let a = Arc::new(Answers::new(1 << 20));
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (go, wait) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (a, runs, mut wait) = (a.clone(), runs.clone(), wait.clone());
            tasks.push(tokio::spawn(async move {
                a.answer("k".into(), 1, day(1), || async move {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = wait.wait_for(|v| *v).await;
                    (body(5), true)
                })
                .await
            }));
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        go.send(true).unwrap();
        let mut served = Vec::new();
        for t in tasks {
            let (b, s) = t.await.unwrap();
            assert_eq!(b.len(), 5);
            served.push(s);
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(served.iter().filter(|s| **s == Served::Made).count(), 1);
        assert_eq!(served.iter().filter(|s| **s == Served::Shared).count(), 9);
        assert!(a.flights.lock().unwrap().is_empty(), "the flight landed");
        // Kept now; an answer that may not be kept is made again by the next asker.
        assert_eq!(
            a.answer("k".into(), 1, day(1), || async { (body(1), true) })
                .await
                .1,
            Served::Kept
        );
        for _ in 0..2 {
            let (_, s) = a
                .answer("e".into(), 1, day(1), || async { (body(1), false) })
                .await;
            assert_eq!(s, Served::Made);
        }
    }

    #[tokio::test]
    async fn an_abandoned_making_is_taken_over_or_cleared() {
        let a = Arc::new(Answers::new(1 << 20));
        // The maker goes away (its client hung up) with nobody waiting: the board is cleared.
        let pending = a.answer("k".into(), 1, day(1), std::future::pending::<(Bytes, bool)>);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(10), pending).await;
        assert!(a.flights.lock().unwrap().is_empty());
        // The next asker makes it.
        let (_, s) = a
            .answer("k".into(), 1, day(1), || async { (body(3), true) })
            .await;
        assert_eq!(s, Served::Made);
    }

    #[test]
    fn keys_separate_callers_variables_and_operations_and_skip_uploads() {
        let q = |vars: serde_json::Value| {
            async_graphql::Request::new("query($c:ID!){campaign(id:$c){name}}")
                .variables(async_graphql::Variables::from_json(vars))
        };
        let k1 = Answers::key(1, &q(serde_json::json!({"c": "1"}))).unwrap();
        assert_ne!(k1, Answers::key(2, &q(serde_json::json!({"c": "1"}))).unwrap());
        assert_ne!(k1, Answers::key(1, &q(serde_json::json!({"c": "2"}))).unwrap());
        assert_ne!(
            k1,
            Answers::key(1, &q(serde_json::json!({"c": "1"})).operation_name("A")).unwrap()
        );
        let long = async_graphql::Request::new(" ".repeat(MAX_KEY_TEXT + 1));
        assert!(Answers::key(1, &long).is_none());
    }
}
