//! Songnuan's background worker. Today it runs housekeeping on a timer; the notice, reminder,
//! provincial-platform and report jobs (apalis on Redis) arrive with their issue.
use domain::Services;
use std::time::Duration;

/// Removes expired login-failure records every `every`, until `shutdown` resolves.
pub async fn run_housekeeping(
    services: Services,
    every: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                match domain::auth::purge_login_failures(&services.db, &services.settings).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "housekeeping: expired login failures removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = ?e, "housekeeping failed; will retry"),
                }
            }
        }
    }
}
