//! The stop signal every binary waits for (the API, the worker, the fake servers): Ctrl-C, or
//! SIGTERM on Unix (what an orchestrator sends). A SIGTERM handler that cannot be installed
//! leaves Ctrl-C as the only signal; it never counts as a stop.
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
