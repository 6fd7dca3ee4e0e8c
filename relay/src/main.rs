//! `careseal-relay serve`, `careseal-relay keygen` and
//! `careseal-relay verify-audit`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use careseal_relay::audit::checkpoint::{
    self, CheckpointFileError, CheckpointPolicy, Checkpointer, Head,
};
use careseal_relay::audit::keys::{AuditKey, CheckpointKey, CheckpointPublicKey, KeyFileError};
use careseal_relay::audit::verify::{self, Anchors, Verdict};
use careseal_relay::config::STORAGE_DRAIN_TIMEOUT;
use careseal_relay::sqlite::SqliteStore;
use careseal_relay::state::Config;
use careseal_relay::store::Store;

const USAGE: &str = "usage:
  careseal-relay serve [--db FILE] [--addr 127.0.0.1:8080] [--www DIR] [--pkg DIR] [--demo]
                       --audit-key FILE --checkpoint-key FILE --checkpoints FILE
                       [--new-checkpoints] [--checkpoint-every RECORDS] [--checkpoint-interval SECONDS]
                       [--max-blob BYTES] [--quota-bytes BYTES] [--upload-memory BYTES]
                       [--download-memory BYTES] [--max-connections N]
                       [--max-connections-per-address N] [--trusted-proxy IP]...
                       [--header-timeout SECS] [--body-timeout SECS] [--request-timeout SECS]
                       [--upload-timeout SECS] [--shutdown-timeout SECS]
                       [--prekey-handouts N] [--prekey-window SECS] [--unauth-rate PER_SEC]
  careseal-relay keygen --audit-key FILE --checkpoint-key FILE [--checkpoint-public-key FILE]
  careseal-relay verify-audit --db FILE --audit-key FILE
                       [--checkpoints FILE --checkpoint-public-key FILE] [--expect-head SEQ:HASH]";

/// Exit code: the audit log was altered (verify-audit), or does not match
/// its checkpoints (serve).
const TAMPERED: u8 = 1;

/// Exit code: bad usage, or a file that cannot be read or written.
const USAGE_OR_IO: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("keygen") => keygen(&args[1..]),
        Some("verify-audit") => verify(&args[1..]),
        _ => Err(Failure::usage("")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { code, message }) => {
            match (code, message.is_empty()) {
                (USAGE_OR_IO, true) => eprintln!("{USAGE}"),
                (_, true) => {}
                (_, false) => eprintln!("careseal-relay: {message}"),
            }
            ExitCode::from(code)
        }
    }
}

/// Why a command stopped: its exit code and what to print on stderr
/// (nothing if empty, or the usage for an empty usage error).
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE_OR_IO,
            message: message.into(),
        }
    }

    fn tampered(message: impl Into<String>) -> Self {
        Self {
            code: TAMPERED,
            message: message.into(),
        }
    }
}

impl From<KeyFileError> for Failure {
    fn from(error: KeyFileError) -> Self {
        Failure::usage(error.to_string())
    }
}

/// The value after `flag` (lenient: `serve` ignores what it does not know).
fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// Strict `--flag value` pairs: an unknown, repeated or valueless flag is a
/// usage error (a mistyped `--checkpoints` must not silently skip a check).
fn strict_flags<'a>(
    args: &'a [String],
    known: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, Failure> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if !known.contains(&flag.as_str()) {
            return Err(Failure::usage(format!("unknown argument {flag}\n{USAGE}")));
        }
        let Some(value) = rest.next() else {
            return Err(Failure::usage(format!("{flag} needs a value")));
        };
        if out.iter().any(|(f, _)| f == flag) {
            return Err(Failure::usage(format!("{flag} given twice")));
        }
        out.push((flag, value));
    }
    Ok(out)
}

/// The value of `flag` parsed as `T`, if given; an error names the flag.
fn parsed<T: FromStr>(args: &[String], flag: &str) -> Result<Option<T>, String> {
    value(args, flag)
        .map(|text| {
            text.parse()
                .map_err(|_| format!("{flag}: not a valid value: {text}"))
        })
        .transpose()
}

/// A duration in (possibly fractional) seconds.
fn seconds(args: &[String], flag: &str) -> Result<Option<Duration>, String> {
    parsed::<f64>(args, flag)?
        .map(|secs| {
            Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("{flag}: not a positive number of seconds: {secs}"))
        })
        .transpose()
}

/// The serve settings from the command line, defaults for the rest; a
/// value that does not parse is an error.
fn config(args: &[String]) -> Result<Config, String> {
    let mut config = Config {
        demo: args.iter().any(|a| a == "--demo"),
        www: value(args, "--www").map(PathBuf::from),
        pkg: value(args, "--pkg").map(PathBuf::from),
        ..Config::default()
    };
    let t = &mut config.timeouts;
    for (flag, slot) in [
        ("--header-timeout", &mut t.header),
        ("--body-timeout", &mut t.body),
        ("--request-timeout", &mut t.request),
        ("--upload-timeout", &mut t.upload),
        ("--shutdown-timeout", &mut t.shutdown),
    ] {
        if let Some(duration) = seconds(args, flag)? {
            *slot = duration;
        }
    }
    if let Some(window) = seconds(args, "--prekey-window")? {
        config.prekey_window = window;
    }
    if let Some(max) = parsed(args, "--max-blob")? {
        config.max_blob = max;
    }
    if let Some(quota) = parsed(args, "--quota-bytes")? {
        config.quota_bytes = quota;
    }
    if let Some(memory) = parsed(args, "--upload-memory")? {
        config.upload_memory = memory;
    }
    if let Some(memory) = parsed(args, "--download-memory")? {
        config.download_memory = memory;
    }
    if let Some(count) = parsed(args, "--max-connections")? {
        config.max_connections = count;
    }
    if let Some(count) = parsed(args, "--max-connections-per-address")? {
        config.max_connections_per_address = count;
    }
    for (i, arg) in args.iter().enumerate() {
        if arg == "--trusted-proxy" {
            let ip = args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or("--trusted-proxy: not an IP address")?;
            config.trusted_proxies.push(ip);
        }
    }
    if let Some(count) = parsed(args, "--prekey-handouts")? {
        config.prekey_handouts = count;
    }
    if let Some(rate) = parsed::<f64>(args, "--unauth-rate")? {
        if !(rate > 0.0 && rate.is_finite()) {
            return Err(format!("--unauth-rate: not a positive rate: {rate}"));
        }
        config.unauth_rate = rate;
    }
    Ok(config)
}

fn get<'a>(flags: &[(&str, &'a str)], flag: &str) -> Option<&'a str> {
    flags.iter().find(|(f, _)| *f == flag).map(|(_, v)| *v)
}

fn required<'a>(flags: &[(&str, &'a str)], flag: &str) -> Result<&'a str, Failure> {
    get(flags, flag).ok_or_else(|| Failure::usage(format!("{flag} FILE is required\n{USAGE}")))
}

fn keygen(args: &[String]) -> Result<(), Failure> {
    let flags = strict_flags(
        args,
        &["--audit-key", "--checkpoint-key", "--checkpoint-public-key"],
    )?;
    let audit_key = PathBuf::from(required(&flags, "--audit-key")?);
    let checkpoint_key = PathBuf::from(required(&flags, "--checkpoint-key")?);
    let public_key = get(&flags, "--checkpoint-public-key")
        .map_or_else(|| public_key_beside(&checkpoint_key), PathBuf::from);
    for path in [&audit_key, &checkpoint_key, &public_key] {
        if path.exists() {
            return Err(Failure::usage(format!(
                "{} exists; keygen never overwrites a key",
                path.display()
            )));
        }
    }
    AuditKey::generate()?.save_new(&audit_key)?;
    let signing = CheckpointKey::generate()?;
    signing.save_new(&checkpoint_key)?;
    signing.public_key().save_new(&public_key)?;
    println!(
        "audit MAC key:            {} (mode 0600)",
        audit_key.display()
    );
    println!(
        "checkpoint signing key:   {} (mode 0600)",
        checkpoint_key.display()
    );
    println!("checkpoint public key:    {}", public_key.display());
    Ok(())
}

fn public_key_beside(signing_key: &Path) -> PathBuf {
    let mut name = signing_key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn verify(args: &[String]) -> Result<(), Failure> {
    let flags = strict_flags(
        args,
        &[
            "--db",
            "--audit-key",
            "--checkpoints",
            "--checkpoint-public-key",
            "--expect-head",
        ],
    )?;
    let db = PathBuf::from(required(&flags, "--db")?);
    let key = AuditKey::load(Path::new(required(&flags, "--audit-key")?))?;
    let mut anchors = Anchors::new();
    let checkpoints = match (
        get(&flags, "--checkpoints"),
        get(&flags, "--checkpoint-public-key"),
    ) {
        (Some(file), Some(public)) => {
            let public = CheckpointPublicKey::load(Path::new(public))?;
            let read =
                checkpoint::read_verified(Path::new(file), &public).map_err(|e| match e {
                    CheckpointFileError::Io(..) => Failure::usage(e.to_string()),
                    _ => {
                        println!("audit log tampered: {file}: {e}");
                        Failure::tampered("")
                    }
                })?;
            if let Ok(text) = std::fs::read_to_string(file) {
                if let Some((line, _)) = checkpoint::torn_tail(&text, &public) {
                    println!(
                        "{file}: line {line} is an unterminated, incomplete checkpoint \
                         (a write cut off by a crash); ignored"
                    );
                }
            }
            anchors = anchors.with_checkpoints(&read);
            Some(
                read.iter()
                    .map(|(_, c)| c.head.seq)
                    .max()
                    .map(|seq| (read.len(), seq)),
            )
        }
        (None, None) => None,
        _ => {
            return Err(Failure::usage(
                "--checkpoints and --checkpoint-public-key go together",
            ));
        }
    };
    if let Some(head) = get(&flags, "--expect-head") {
        let head: Head = head
            .parse()
            .map_err(|()| Failure::usage("--expect-head is SEQ:HASH (64 hex digits)"))?;
        anchors = anchors.with_expected_head(head);
    }
    let store = SqliteStore::open_read_only(&db)
        .map_err(|e| Failure::usage(format!("cannot open {}: {}", db.display(), e.0)))?;
    let verdict = verify::verify(&store, &key, &anchors)
        .map_err(|e| Failure::usage(format!("cannot read {}: {}", db.display(), e.0)))?;
    match verdict {
        Verdict::Intact {
            records,
            head,
            anchored,
        } => {
            let head = head.map_or_else(|| "none".to_string(), |h| h.to_string());
            println!("audit log intact: {records} records, head {head}");
            match checkpoints {
                Some(None) if records > 0 => {
                    println!(
                        "audit log tampered: the checkpoints file holds no checkpoint, but the \
                         log has {records} records (the file was emptied, replaced or never \
                         written): none of them is anchored"
                    );
                    return Err(Failure::tampered(""));
                }
                Some(None) => println!("no records and no checkpoints"),
                Some(Some((count, last))) => {
                    println!(
                        "reaches the latest of {count} signed checkpoints (record {anchored}); \
                         {} records after the last checkpoint (record {last}) are not anchored",
                        (records as i64 - last).max(0)
                    )
                }
                None => println!(
                    "no checkpoints given: removing the newest records would not be detected"
                ),
            }
            Ok(())
        }
        Verdict::Tampered(how) => {
            println!("audit log tampered: {how}");
            Err(Failure::tampered(""))
        }
    }
}

/// Where the audit keys and checkpoints come from: the flags, or in demo
/// mode files beside the database, created on first start.
struct AuditFiles {
    audit_key: PathBuf,
    checkpoint_key: PathBuf,
    checkpoints: PathBuf,
}

fn audit_files(args: &[String], db: &Path, demo: bool) -> Result<AuditFiles, Failure> {
    let beside = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let flag = |name: &str, suffix: &str| match value(args, name) {
        Some(path) => Ok(PathBuf::from(path)),
        None if demo => Ok(beside(suffix)),
        None => Err(Failure::usage(format!(
            "serve needs {name} FILE (create keys with careseal-relay keygen; \
             only --demo keeps them beside the database)\n{USAGE}"
        ))),
    };
    let files = AuditFiles {
        audit_key: flag("--audit-key", ".audit-key")?,
        checkpoint_key: flag("--checkpoint-key", ".checkpoint-key")?,
        checkpoints: flag("--checkpoints", ".checkpoints")?,
    };
    if demo {
        if !files.audit_key.exists() {
            AuditKey::generate()?.save_new(&files.audit_key)?;
            println!("demo: created audit key {}", files.audit_key.display());
        }
        if !files.checkpoint_key.exists() {
            let key = CheckpointKey::generate()?;
            key.save_new(&files.checkpoint_key)?;
            let public = public_key_beside(&files.checkpoint_key);
            if !public.exists() {
                key.public_key().save_new(&public)?;
            }
            println!(
                "demo: created checkpoint key {} and {}",
                files.checkpoint_key.display(),
                public.display()
            );
        }
    }
    Ok(files)
}

fn policy(args: &[String]) -> Result<CheckpointPolicy, Failure> {
    let mut policy = CheckpointPolicy::default();
    if let Some(every) = value(args, "--checkpoint-every") {
        policy.every_records = every.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Failure::usage("--checkpoint-every is a number of records, 1 or more")
        })?;
    }
    if let Some(seconds) = value(args, "--checkpoint-interval") {
        let seconds: u64 = seconds.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Failure::usage("--checkpoint-interval is a number of seconds, 1 or more")
        })?;
        policy.interval = Duration::from_secs(seconds);
    }
    Ok(policy)
}

fn serve(args: &[String]) -> Result<(), Failure> {
    let config = config(args).map_err(|e| Failure::usage(format!("{e}\n{USAGE}")))?;
    let policy = policy(args)?;
    let db = PathBuf::from(value(args, "--db").unwrap_or("careseal-relay.sqlite"));
    let files = audit_files(args, &db, config.demo)?;
    let audit_key = AuditKey::load(&files.audit_key)?;
    let checkpoint_key = CheckpointKey::load(&files.checkpoint_key)?;
    let store = SqliteStore::open(&db, audit_key)
        .map_err(|e| Failure::usage(format!("cannot open {}: {}", db.display(), e.0)))?;
    let audit_key = AuditKey::load(&files.audit_key)?;
    prepare_checkpoints(
        &files.checkpoints,
        &store,
        &checkpoint_key,
        args.iter().any(|a| a == "--new-checkpoints"),
    )?;
    let store = Arc::new(store);
    let addr = value(args, "--addr")
        .unwrap_or("127.0.0.1:8080")
        .to_string();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| Failure::usage(e.to_string()))?;
    let result: Result<(), Failure> = runtime.block_on(async move {
        let checkpointer = Checkpointer::start(
            Arc::clone(&store) as Arc<dyn Store>,
            audit_key,
            checkpoint_key,
            files.checkpoints.clone(),
            policy,
        )
        .map_err(Failure::tampered)?;
        println!(
            "careseal-relay audit checkpoints: {} (every {} records or {} s, and at shutdown)",
            files.checkpoints.display(),
            policy.every_records,
            policy.interval.as_secs()
        );
        let served = async {
            let shutdown = shutdown_signal();
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            let local = listener.local_addr()?;
            println!("careseal-relay listening on http://{local}/");
            careseal_relay::Relay::new(store, config)
                .serve(listener, shutdown)
                .await
        }
        .await;
        let checkpointed = checkpointer.finish().await;
        served.map_err(|e| Failure {
            code: 1,
            message: e.to_string(),
        })?;
        checkpointed.map_err(|e| Failure {
            code: 1,
            message: format!("last audit checkpoint failed: {e}"),
        })?;
        Ok(())
    });
    // Storage calls already running finish their transaction (each commits
    // or rolls back as a whole, with its audit record); nothing else is
    // waited for.
    runtime.shutdown_timeout(STORAGE_DRAIN_TIMEOUT);
    result?;
    println!("careseal-relay stopped");
    Ok(())
}

/// Before serving: a checkpoints file without a checkpoint for a log with
/// records (deleted, emptied, or a new file by mistake) is refused unless
/// `new_file` (`--new-checkpoints`); a torn last line (a write cut off by a
/// crash) is reported and cut off, so the next checkpoint starts a line.
fn prepare_checkpoints(
    path: &Path,
    store: &SqliteStore,
    key: &CheckpointKey,
    new_file: bool,
) -> Result<(), Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Failure::usage(format!("{}: {e}", path.display()))),
    };
    let torn = checkpoint::torn_tail(&text, &key.public_key());
    let kept = torn.map_or(&text[..], |(_, length)| &text[..length]);
    let has_checkpoint = kept.lines().any(|l| !l.trim().is_empty());
    if let Some((line, length)) = torn {
        eprintln!(
            "careseal-relay: {}: line {line} is an unterminated, incomplete checkpoint \
             (a write cut off by a crash); removing it",
            path.display()
        );
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| f.set_len(length as u64).and_then(|()| f.sync_all()));
        file.map_err(|e| {
            Failure::usage(format!(
                "{}: cannot remove the torn last line ({e}); remove it by hand \
                 (it is not a signed checkpoint)",
                path.display()
            ))
        })?;
    }
    let head = store
        .audit_head()
        .map_err(|e| Failure::usage(format!("cannot read the audit log: {}", e.0)))?;
    if let (false, false, Some((seq, _))) = (has_checkpoint, new_file, head) {
        return Err(Failure::tampered(format!(
            "{} holds no checkpoint, but the audit log has {seq} records: the checkpoints \
             file was deleted, emptied or replaced. Run verify-audit against a copy of it; \
             to start a new checkpoints file on purpose, pass --new-checkpoints",
            path.display()
        )));
    }
    Ok(())
}

/// The shutdown signal (SIGTERM or Ctrl-C). The handlers are installed
/// when this is called, not when the future is first polled, so a signal
/// sent as soon as the relay says it is listening is not lost (it would
/// otherwise kill the process with the default action).
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let terminate = async {
            match terminate.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = terminate => {},
        }
    }
}
