//! Connecting to SQLite or PostgreSQL and applying migrations. The same code runs on both.
use crate::core::settings::Settings;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::time::Duration;

pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    connect_url(&settings.database_url, settings.db_max_connections).await
}

pub async fn connect_url(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opt = ConnectOptions::new(url.to_string());
    opt.max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(15))
        // A ping on every checkout doubles the round trips of a short request; only a
        // connection idle long enough to have been dropped (server restart, proxy) is tested.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // WAL lets readers run beside the one writer; the busy timeout makes a second writer
        // wait for the first instead of failing.
        opt.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    }
    let db = Database::connect(opt).await?;
    Ok(db)
}

/// Applies pending migrations. Two replicas starting together may race on the same migration;
/// the loser's attempt fails, and a retry finds the work done.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let mut attempt = 0;
    loop {
        match Migrator::up(db, None).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 4 => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "migration failed, retrying (another replica may be migrating)");
                tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("数据库迁移失败: {e}")),
        }
    }
}

/// A cheap round trip, for `/ready`.
pub async fn ping(db: &DatabaseConnection) -> bool {
    tokio::time::timeout(Duration::from_secs(2), db.ping())
        .await
        .map(|r| r.is_ok())
        .unwrap_or(false)
}

/// The row of `E` with primary key `id`, or NOT_FOUND naming what was looked for ("合同").
pub async fn find<E, C>(db: &C, id: i64, what: &'static str) -> crate::core::error::DomainResult<E::Model>
where
    E: sea_orm::EntityTrait,
    i64: Into<<E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType>,
    C: sea_orm::ConnectionTrait,
{
    E::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| crate::core::error::DomainError::not_found(what))
}
