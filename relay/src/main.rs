//! `careseal-relay serve` and `careseal-relay verify-audit`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::Config;
use careseal_relay::store::{AuditCheck, Store};

const USAGE: &str = "usage:
  careseal-relay serve [--db FILE] [--addr 127.0.0.1:8080] [--www DIR] [--pkg DIR] [--demo] [--max-blob BYTES]
  careseal-relay verify-audit --db FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("verify-audit") => verify(&args[1..]),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn open(args: &[String]) -> Result<SqliteStore, String> {
    let db = PathBuf::from(value(args, "--db").unwrap_or("careseal-relay.sqlite"));
    SqliteStore::open(&db).map_err(|e| format!("cannot open {}: {}", db.display(), e.0))
}

fn verify(args: &[String]) -> ExitCode {
    let store = match open(args) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("careseal-relay: {e}");
            return ExitCode::from(2);
        }
    };
    match store.verify_audit() {
        Ok(AuditCheck::Intact { records }) => {
            println!("audit log intact: {records} records");
            ExitCode::SUCCESS
        }
        Ok(AuditCheck::BrokenAt { seq }) => {
            println!("audit log broken at record {seq}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("careseal-relay: {}", e.0);
            ExitCode::from(2)
        }
    }
}

fn serve(args: &[String]) -> ExitCode {
    let store = match open(args) {
        Ok(store) => Arc::new(store),
        Err(e) => {
            eprintln!("careseal-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = Config {
        demo: args.iter().any(|a| a == "--demo"),
        www: value(args, "--www").map(PathBuf::from),
        pkg: value(args, "--pkg").map(PathBuf::from),
        ..Config::default()
    };
    if let Some(max) = value(args, "--max-blob").and_then(|v| v.parse().ok()) {
        config.max_blob = max;
    }
    let addr = value(args, "--addr")
        .unwrap_or("127.0.0.1:8080")
        .to_string();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("careseal-relay: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let local = listener.local_addr()?;
        println!("careseal-relay listening on http://{local}/");
        let app = careseal_relay::app(store, config);
        careseal_relay::serve(listener, app, shutdown_signal()).await
    });
    match result {
        Ok(()) => {
            println!("careseal-relay stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("careseal-relay: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
