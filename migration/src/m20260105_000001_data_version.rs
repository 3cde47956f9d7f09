//! `data_version`: one number that grows whenever a transaction that wrote any table the API
//! answers from commits. The API keeps finished answers in memory and serves one again only
//! while this number is unchanged (see `api/src/runtime/answers.rs`).
//!
//! It is kept by triggers, not by the application, on purpose: an edit made with plain SQL, a
//! script or a second service must make cached answers stale exactly like an edit through the
//! API. Every table created later must call `track` (a test checks the catalog).
//!
//! PostgreSQL: a deferred constraint trigger per row plus a TRUNCATE trigger. Deferred, so the
//! single row is locked only in the last moment before commit and concurrent writers do not
//! queue behind it for their whole transaction; a transaction-local flag makes the second and
//! later rows of a transaction cost only a setting look-up.
//! SQLite (one writer at a time): a plain row trigger.
use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables that never advance `data_version`: the number itself, the migration log, and the
/// login throttle's tables (`login_failures`, no longer written, and `login_throttle`, added
/// later): read only by `login`, a mutation, which is never cached; a password-guessing client
/// must not be able to empty the cache.
pub const UNTRACKED_TABLES: [&str; 5] = [
    "data_version",
    "seaql_migrations",
    "login_failures",
    "login_throttle",
    // changes at every claim; read only by `jobs`, which is never kept (`answers::NEVER_KEPT`)
    "jobs",
];

/// The tables whose rows reach answers, when this migration was written.
const TRACKED: [&str; 17] = [
    "organizations",
    "users",
    "api_tokens",
    "campaigns",
    "categories",
    "audit_head",
    "audit_log",
    "recipients",
    "disbursements",
    "ledger_entries",
    "suppliers",
    "contracts",
    "contract_lines",
    "deliveries",
    "calendar_days",
    "visits",
    "visit_recipients",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("CREATE TABLE data_version (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL)")
            .await?;
        db.execute_unprepared("INSERT INTO data_version (id, seq) VALUES (1, 0)")
            .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "CREATE FUNCTION songnuan_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   IF current_setting('songnuan.data_version_bumped', true) IS DISTINCT FROM 'on' THEN \
                     UPDATE data_version SET seq = seq + 1 WHERE id = 1; \
                     PERFORM set_config('songnuan.data_version_bumped', 'on', true); \
                   END IF; \
                   RETURN NULL; \
                 END $$",
            )
            .await?;
        }
        for table in TRACKED {
            track(m, table).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let pg = m.get_database_backend() == DbBackend::Postgres;
        for table in TRACKED {
            for sql in untrack_sql(pg, table) {
                db.execute_unprepared(&sql).await?;
            }
        }
        if pg {
            db.execute_unprepared("DROP FUNCTION songnuan_bump_data_version()")
                .await?;
        }
        db.execute_unprepared("DROP TABLE data_version").await?;
        Ok(())
    }
}

/// Makes every committed write to `table` advance `data_version`.
pub async fn track(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let pg = m.get_database_backend() == DbBackend::Postgres;
    for (_, create) in triggers(pg, table) {
        m.get_connection().execute_unprepared(&create).await?;
    }
    Ok(())
}

fn untrack_sql(pg: bool, table: &str) -> Vec<String> {
    let on = if pg { format!(" ON {table}") } else { String::new() };
    triggers(pg, table)
        .into_iter()
        .map(|(name, _)| format!("DROP TRIGGER {name}{on}"))
        .collect()
}

/// The triggers that track `table`, by name, with the statement that creates each.
fn triggers(pg: bool, table: &str) -> Vec<(String, String)> {
    let bump = "EXECUTE FUNCTION songnuan_bump_data_version()";
    if pg {
        let row = format!("data_version_{table}");
        let truncate = format!("data_version_{table}_truncate");
        vec![
            (
                row.clone(),
                format!(
                    "CREATE CONSTRAINT TRIGGER {row} AFTER INSERT OR UPDATE OR DELETE ON {table} \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW {bump}"
                ),
            ),
            (
                truncate.clone(),
                format!("CREATE TRIGGER {truncate} AFTER TRUNCATE ON {table} FOR EACH STATEMENT {bump}"),
            ),
        ]
    } else {
        ["INSERT", "UPDATE", "DELETE"]
            .iter()
            .map(|event| {
                let name = format!("data_version_{table}_{}", event.to_lowercase());
                let create = format!(
                    "CREATE TRIGGER {name} AFTER {event} ON {table} \
                     BEGIN UPDATE data_version SET seq = seq + 1 WHERE id = 1; END"
                );
                (name, create)
            })
            .collect()
    }
}
