//! Authentication: Argon2id passwords, signed session tokens that expire and die on password
//! change (the user's `token_version`), long-lived API tokens for INTEGRATION users (stored as
//! SHA-256 only), and the login throttle. No per-user state is kept in memory: every replica
//! answers the same from the database alone.
use crate::core::error::{DomainError, DomainResult};
use crate::core::settings::Settings;
use crate::people::access::{Actor, Role};
use crate::people::audit::Change;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use entities::{api_token, login_failure, login_throttle, organization, user};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const SESSION_PREFIX: &str = "sn1.";
pub const API_TOKEN_PREFIX: &str = "snt_";

/// Argon2id with the crate's defaults (19 MiB, 2 passes), run off the async threads.
pub async fn hash_password(password: &str) -> DomainResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| DomainError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
    .map_err(DomainError::internal)?
}

/// A hash to verify against when the user does not exist, so timing does not reveal usernames.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(b"songnuan-dummy-password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

pub async fn verify_password(hash: Option<String>, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

fn sign(key: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// `sn1.<base64(user_id:token_version:expires_unix)>.<base64(hmac)>`
pub fn issue_session_token(
    settings: &Settings,
    user_id: i64,
    token_version: i32,
    now: DateTime<Utc>,
) -> String {
    let exp = now.timestamp() + settings.token_ttl.as_secs() as i64;
    let payload = format!("{user_id}:{token_version}:{exp}");
    let sig = sign(&settings.keys.token, payload.as_bytes());
    format!(
        "{SESSION_PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Returns (user id, token version) of a well-signed, unexpired session token.
fn open_session_token(settings: &Settings, token: &str, now: DateTime<Utc>) -> Option<(i64, i32)> {
    let rest = token.strip_prefix(SESSION_PREFIX)?;
    let (p, s) = rest.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(p).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(s).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&settings.keys.token).ok()?;
    mac.update(&payload);
    mac.verify_slice(&sig).ok()?;
    let text = String::from_utf8(payload).ok()?;
    let mut parts = text.split(':');
    let uid = parts.next()?.parse().ok()?;
    let ver = parts.next()?.parse().ok()?;
    let exp: i64 = parts.next()?.parse().ok()?;
    (exp > now.timestamp()).then_some((uid, ver))
}

pub fn api_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A verified caller, and the database's `data_version` read in the same statement: answers
/// cached under that version are still true (see the `data_version` migration).
pub struct Authenticated {
    pub actor: Actor,
    pub data_version: i64,
}

/// Resolves a bearer token to the acting user: one indexed query (user joined with its
/// organisation), plus one for API tokens.
pub async fn authenticate(
    db: &DatabaseConnection,
    settings: &Settings,
    bearer: &str,
) -> DomainResult<Authenticated> {
    let now = Utc::now();
    let bearer = bearer.trim();
    if bearer.len() > 512 {
        return Err(DomainError::unauthenticated());
    }
    // Session tokens carry the token version they were issued with; API tokens are looked up.
    let (user_id, version) = if bearer.starts_with(API_TOKEN_PREFIX) {
        let t = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(api_token_hash(bearer)))
            .one(db)
            .await?
            .ok_or_else(DomainError::unauthenticated)?;
        if t.revoked_at.is_some() || t.expires_at <= now {
            return Err(DomainError::unauthenticated());
        }
        (t.user_id, None)
    } else {
        let (uid, ver) =
            open_session_token(settings, bearer, now).ok_or_else(DomainError::unauthenticated)?;
        (uid, Some(ver))
    };
    let row = AuthRow::load(db, user_id)
        .await?
        .ok_or_else(DomainError::unauthenticated)?;
    if version.is_some_and(|v| v != row.token_version) {
        return Err(DomainError::unauthenticated());
    }
    if row.disabled {
        return Err(DomainError::Unauthenticated("账号已停用".into()));
    }
    Ok(Authenticated {
        actor: Actor {
            user_id: row.id,
            username: row.username,
            roles: Role::parse_list(&row.roles),
            organization_id: row.organization_id,
            org_path: row.org_path,
        },
        data_version: row.data_version,
    })
}

/// What authenticating a request needs of the user and its organisation, in one statement
/// (runs on every request: no password hash, no timestamps), with the data version.
#[derive(FromQueryResult)]
struct AuthRow {
    id: i64,
    username: String,
    roles: String,
    organization_id: i64,
    disabled: bool,
    token_version: i32,
    org_path: String,
    data_version: i64,
}

impl AuthRow {
    async fn load(db: &DatabaseConnection, user_id: i64) -> DomainResult<Option<AuthRow>> {
        use sea_orm::{JoinType, QuerySelect, RelationTrait};
        Ok(user::Entity::find_by_id(user_id)
            .select_only()
            .columns([
                user::Column::Id,
                user::Column::Username,
                user::Column::Roles,
                user::Column::OrganizationId,
                user::Column::Disabled,
                user::Column::TokenVersion,
            ])
            .column_as(organization::Column::Path, "org_path")
            .column_as(
                sea_orm::sea_query::Expr::cust("(SELECT seq FROM data_version WHERE id = 1)"),
                "data_version",
            )
            .join(JoinType::InnerJoin, user::Relation::Organization.def())
            .into_model::<AuthRow>()
            .one(db)
            .await?)
    }
}

pub fn actor_of(u: &user::Model, org: &organization::Model) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        roles: Role::parse_list(&u.roles),
        organization_id: org.id,
        org_path: org.path.clone(),
    }
}

/// The login throttle: at most `per_username` password checks per username and
/// `per_address` per client address in each window, whatever the number of concurrent requests
/// or replicas.
///
/// Every attempt first reserves a slot with one atomic upsert per key (`login_throttle`, keys
/// "user:<username>" and "addr:<client address>") that returns the key's count in its current
/// window; beyond the limit the attempt is refused before its password is checked. A wrong
/// password keeps its slots; a right one clears the username's count and gives back its address
/// slot, so only failures (and checks in flight) count against an address. An attempt refused
/// by the address limit gives back its username slot: a client over its address limit cannot
/// lock other users out. Windows are fixed: they start at a key's first attempt after the last
/// window expired.
struct Slot {
    key: String,
    window_start: i64,
    granted: bool,
}

impl Slot {
    /// `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING window_start, attempts`: one
    /// statement, atomic on PostgreSQL and on SQLite (≥ 3.35).
    fn upsert(key: &str, now: i64, window: i64) -> sea_orm::sea_query::InsertStatement {
        use login_throttle::Column as C;
        use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
        let old = |c: C| Expr::col((login_throttle::Entity, c));
        let expired = || old(C::WindowStart).lte(now - window);
        Query::insert()
            .into_table(login_throttle::Entity)
            .columns([C::Key, C::WindowStart, C::Attempts])
            .values_panic([key.into(), now.into(), 1i32.into()])
            .on_conflict(
                OnConflict::column(C::Key)
                    .value(
                        C::Attempts,
                        Expr::case(expired(), 1i32).finally(old(C::Attempts).add(1i32)),
                    )
                    .value(
                        C::WindowStart,
                        Expr::case(expired(), now).finally(old(C::WindowStart)),
                    )
                    .to_owned(),
            )
            .returning(Query::returning().columns([C::WindowStart, C::Attempts]))
            .to_owned()
    }

    /// Counts one attempt for `key` (starting a new window when its last one is over).
    async fn reserve(
        db: &impl ConnectionTrait,
        key: String,
        now: i64,
        window: i64,
        limit: u32,
    ) -> DomainResult<Slot> {
        let upsert = Slot::upsert(&key, now, window);
        let row = db
            .query_one(&upsert)
            .await?
            .ok_or_else(|| DomainError::internal(anyhow::anyhow!("login_throttle upsert returned no row")))?;
        let window_start: i64 = row.try_get("", "window_start")?;
        let attempts: i32 = row.try_get("", "attempts")?;
        Ok(Slot {
            key,
            window_start,
            granted: i64::from(attempts) <= i64::from(limit),
        })
    }

    /// Gives the slot back (the attempt did not count), unless its window has been replaced.
    async fn release(&self, db: &impl ConnectionTrait) -> DomainResult<()> {
        use login_throttle::Column as C;
        use sea_orm::sea_query::{Expr, ExprTrait};
        login_throttle::Entity::update_many()
            .col_expr(C::Attempts, Expr::col(C::Attempts).sub(1i32))
            .filter(C::Key.eq(self.key.as_str()))
            .filter(C::WindowStart.eq(self.window_start))
            .filter(C::Attempts.gt(0))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// Reserves this attempt's slots for the username and the address, or refuses it.
async fn reserve_attempt(
    db: &DatabaseConnection,
    settings: &Settings,
    username: &str,
    addr: &str,
) -> DomainResult<(Slot, Slot)> {
    let limits = &settings.login_throttle;
    let now = Utc::now().timestamp();
    let window = limits.window.as_secs() as i64;
    let user = Slot::reserve(db, format!("user:{username}"), now, window, limits.per_username).await?;
    if !user.granted {
        return Err(DomainError::RateLimited);
    }
    let addr = Slot::reserve(db, format!("addr:{addr}"), now, window, limits.per_address).await?;
    if !addr.granted {
        user.release(db).await?;
        return Err(DomainError::RateLimited);
    }
    Ok((user, addr))
}

pub struct LoggedIn {
    pub token: String,
    pub user: user::Model,
    pub organization: organization::Model,
}

pub async fn login(
    db: &DatabaseConnection,
    settings: &Settings,
    username: &str,
    password: &str,
    client_addr: &str,
) -> DomainResult<LoggedIn> {
    // Bounded inputs: a megabyte "password" must not reach Argon2.
    let username: String = username.trim().chars().take(64).collect();
    let client_addr: String = client_addr.chars().take(64).collect();
    let (user_slot, addr_slot) = reserve_attempt(db, settings, &username, &client_addr).await?;
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(username.as_str()))
        .one(db)
        .await?;
    let ok = password.len() <= 128
        && verify_password(found.as_ref().map(|u| u.password_hash.clone()), password).await;
    let user = match (ok, found) {
        (true, Some(u)) => u,
        _ => {
            // the reserved slots stay counted
            tracing::info!(username = %username, client = %client_addr, "login refused: bad credentials");
            return Err(DomainError::Unauthenticated("用户名或密码错误".into()));
        }
    };
    if user.disabled {
        // the right password: not a failure
        user_slot.release(db).await?;
        addr_slot.release(db).await?;
        return Err(DomainError::Unauthenticated("账号已停用".into()));
    }
    let org = organization::Entity::find_by_id(user.organization_id)
        .one(db)
        .await?
        .ok_or_else(|| DomainError::internal(anyhow::anyhow!("user {} has no organisation", user.id)))?;
    let actor = actor_of(&user, &org);
    let mut change = Change::begin(db, Some(&actor), "login").await?;
    login_throttle::Entity::delete_by_id(user_slot.key.clone())
        .exec(change.txn())
        .await?;
    addr_slot.release(change.txn()).await?;
    change
        .record(
            "User",
            Some(user.id.to_string()),
            None,
            Some(&json!({"client": client_addr})),
        )
        .await?;
    let token = issue_session_token(settings, user.id, user.token_version, change.now());
    change.commit().await?;
    Ok(LoggedIn {
        token,
        user,
        organization: org,
    })
}

/// Drops the login throttle's expired windows, and what is left of the failed-login records
/// written before the throttle moved to `login_throttle` (housekeeping; the worker runs it).
pub async fn purge_login_failures(db: &DatabaseConnection, settings: &Settings) -> DomainResult<u64> {
    let now = Utc::now();
    let window = settings.login_throttle.window;
    // the condition `Slot::reserve` treats as expired: a concurrent reservation either finds
    // the row gone and starts afresh, or renews it first and the delete no longer matches
    let windows = login_throttle::Entity::delete_many()
        .filter(login_throttle::Column::WindowStart.lte(now.timestamp() - window.as_secs() as i64))
        .exec(db)
        .await?;
    let before = now - chrono::Duration::from_std(window).unwrap_or_default();
    let failures = login_failure::Entity::delete_many()
        .filter(login_failure::Column::At.lt(before))
        .exec(db)
        .await?;
    Ok(windows.rows_affected + failures.rows_affected)
}

/// A new random API token (shown once).
pub fn new_api_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("{API_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let dir = std::env::temp_dir().join(format!("songnuan-auth-{}", rand::random::<u64>()));
        Settings::from_lookup(|k| match k {
            "SONGNUAN_DATA_DIR" => Some(dir.display().to_string()),
            "SONGNUAN_SECRET" => Some("test-secret-test-secret-test-secret!".into()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn session_token_round_trip_expiry_and_forgery() {
        let s = settings();
        let now = Utc::now();
        let t = issue_session_token(&s, 7, 3, now);
        assert_eq!(open_session_token(&s, &t, now), Some((7, 3)));
        // expired
        let later = now + chrono::Duration::hours(13);
        assert_eq!(open_session_token(&s, &t, later), None);
        // forged: payload changed, signature kept
        let (_, sig) = t.rsplit_once('.').unwrap();
        let forged = format!(
            "{SESSION_PREFIX}{}.{sig}",
            URL_SAFE_NO_PAD.encode("1:0:99999999999")
        );
        assert_eq!(open_session_token(&s, &forged, now), None);
        // another secret
        let other = Settings::from_lookup(|k| match k {
            "SONGNUAN_DATA_DIR" => Some(s.data_dir.display().to_string()),
            "SONGNUAN_SECRET" => Some("another-secret-another-secret-another".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(open_session_token(&other, &t, now), None);
    }

    #[test]
    fn the_throttle_reservation_is_one_upsert_on_both_databases() {
        use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
        let q = Slot::upsert("user:admin", 1_000_900, 900);
        assert_eq!(
            q.to_string(PostgresQueryBuilder),
            r#"INSERT INTO "login_throttle" ("key", "window_start", "attempts") VALUES ('user:admin', 1000900, 1) ON CONFLICT ("key") DO UPDATE SET "attempts" = (CASE WHEN ("login_throttle"."window_start" <= 1000000) THEN 1 ELSE "login_throttle"."attempts" + 1 END), "window_start" = (CASE WHEN ("login_throttle"."window_start" <= 1000000) THEN 1000900 ELSE "login_throttle"."window_start" END) RETURNING "window_start", "attempts""#
        );
        let (sql, values) = q.build(SqliteQueryBuilder);
        assert!(
            sql.contains("ON CONFLICT (\"key\") DO UPDATE")
                && sql.ends_with("RETURNING \"window_start\", \"attempts\""),
            "{sql}"
        );
        assert_eq!(sql.matches('?').count(), values.0.len(), "{sql}");
    }

    #[tokio::test]
    async fn argon2_verifies_only_the_right_password() {
        let h = hash_password("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(Some(h.clone()), "correct horse").await);
        assert!(!verify_password(Some(h), "wrong").await);
        assert!(!verify_password(None, "songnuan-dummy-password").await);
    }
}
