//! Signed checkpoints of the audit chain's head, appended to a file outside
//! the database. A checkpoint says "record `seq` exists and its chain hash
//! is `head`"; a log that ends before `seq`, or hashes differently there,
//! was truncated or rewritten.
//!
//! One checkpoint per line (docs/RELAY.md, "Checkpoints file"):
//!
//! ```text
//! careseal-relay-checkpoint-v1 <seq> <head: 64 hex> <unix ms> <Ed25519 signature: 128 hex>
//! ```
//!
//! The signature covers `CHECKPOINT_CONTEXT || seq (u64 BE) || head || time (i64 BE)`.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::keys::{AuditKey, CheckpointKey, CheckpointPublicKey};
use super::verify::verify_segment;
use crate::store::Store;

/// First field of every checkpoint line.
pub const CHECKPOINT_LABEL: &str = "careseal-relay-checkpoint-v1";

/// Domain separation of a checkpoint signature.
const CHECKPOINT_CONTEXT: &[u8] = b"careseal-relay audit checkpoint v1";

/// Default: a checkpoint after this many new records.
pub const DEFAULT_CHECKPOINT_EVERY: i64 = 100;

/// Default: a checkpoint at least this often while records are written.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(60);

/// How often the writer looks at the head of the log.
const POLL: Duration = Duration::from_secs(1);

/// The head of the audit chain: a record's sequence number and chain hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Sequence number.
    pub seq: i64,
    /// Chain hash of that record.
    pub hash: [u8; 32],
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(self.hash))
    }
}

impl std::str::FromStr for Head {
    type Err = ();

    /// `SEQ:HASH`, the hash as 64 hex digits.
    fn from_str(text: &str) -> Result<Self, ()> {
        let (seq, hash) = text.split_once(':').ok_or(())?;
        let seq: i64 = seq.parse().map_err(|_| ())?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hash, &mut bytes).map_err(|_| ())?;
        if seq < 1 {
            return Err(());
        }
        Ok(Head { seq, hash: bytes })
    }
}

/// A signed statement of the head at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The head.
    pub head: Head,
    /// When it was signed, Unix milliseconds.
    pub at: i64,
    /// Ed25519 signature.
    pub signature: [u8; 64],
}

fn signed_message(head: &Head, at: i64) -> Vec<u8> {
    let mut message = CHECKPOINT_CONTEXT.to_vec();
    message.extend_from_slice(&head.seq.to_be_bytes());
    message.extend_from_slice(&head.hash);
    message.extend_from_slice(&at.to_be_bytes());
    message
}

impl Checkpoint {
    /// Signs `head` as of `at`.
    pub fn sign(key: &CheckpointKey, head: Head, at: i64) -> Self {
        let signature = key.sign(&signed_message(&head, at));
        Self {
            head,
            at,
            signature,
        }
    }

    /// Whether the signature is `key`'s.
    pub fn verify(&self, key: &CheckpointPublicKey) -> bool {
        key.verify(&signed_message(&self.head, self.at), &self.signature)
    }

    /// The line written to the checkpoints file (without the newline).
    pub fn to_line(&self) -> String {
        format!(
            "{CHECKPOINT_LABEL} {} {} {} {}",
            self.head.seq,
            hex::encode(self.head.hash),
            self.at,
            hex::encode(self.signature)
        )
    }

    /// Parses one line of the checkpoints file.
    pub fn parse_line(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split(' ').collect();
        let [label, seq, hash, at, signature] = fields[..] else {
            return None;
        };
        if label != CHECKPOINT_LABEL {
            return None;
        }
        let head: Head = format!("{seq}:{hash}").parse().ok()?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(signature, &mut sig).ok()?;
        Some(Self {
            head,
            at: at.parse().ok()?,
            signature: sig,
        })
    }
}

/// Why a checkpoints file cannot be used.
#[derive(Debug)]
pub enum CheckpointFileError {
    /// It cannot be read or written.
    Io(PathBuf, std::io::Error),
    /// A line is not a checkpoint (1-based line number).
    Malformed(usize),
    /// A line's signature is not the checkpoint key's (1-based line number).
    BadSignature(usize),
}

impl fmt::Display for CheckpointFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointFileError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            CheckpointFileError::Malformed(line) => {
                write!(f, "checkpoint line {line} is malformed")
            }
            CheckpointFileError::BadSignature(line) => {
                write!(
                    f,
                    "checkpoint line {line} is not signed by the checkpoint key"
                )
            }
        }
    }
}

impl std::error::Error for CheckpointFileError {}

/// A last line without its newline that is not a correctly signed
/// checkpoint: a write cut off by a crash. Its 1-based line number, and the
/// length of the file without it.
pub fn torn_tail(text: &str, key: &CheckpointPublicKey) -> Option<(usize, usize)> {
    if text.is_empty() || text.ends_with('\n') {
        return None;
    }
    let start = text.rfind('\n').map_or(0, |i| i + 1);
    let complete = Checkpoint::parse_line(&text[start..]).is_some_and(|c| c.verify(key));
    if complete {
        return None;
    }
    Some((text[..start].lines().count() + 1, start))
}

/// Every checkpoint in a file, with its 1-based line number, each signature
/// checked against `key`. Any line that is not a correctly signed
/// checkpoint is an error (the file is only ever appended to), except a
/// torn last line ([`torn_tail`]), which is left out.
pub fn read_verified(
    path: &Path,
    key: &CheckpointPublicKey,
) -> Result<Vec<(usize, Checkpoint)>, CheckpointFileError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CheckpointFileError::Io(path.to_path_buf(), e))?;
    let complete = match torn_tail(&text, key) {
        Some((_, length)) => &text[..length],
        None => &text[..],
    };
    let mut out = Vec::new();
    for (index, line) in complete.lines().enumerate() {
        let number = index + 1;
        let checkpoint =
            Checkpoint::parse_line(line).ok_or(CheckpointFileError::Malformed(number))?;
        if !checkpoint.verify(key) {
            return Err(CheckpointFileError::BadSignature(number));
        }
        out.push((number, checkpoint));
    }
    Ok(out)
}

/// Appends one checkpoint line and waits until it is on disk.
pub fn append(path: &Path, checkpoint: &Checkpoint) -> Result<(), CheckpointFileError> {
    let io = |e| CheckpointFileError::Io(path.to_path_buf(), e);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(io)?;
    file.write_all(format!("{}\n", checkpoint.to_line()).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)
}

/// When the writer signs a checkpoint.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    /// After this many new records.
    pub every_records: i64,
    /// At least this often while records are being written.
    pub interval: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_records: DEFAULT_CHECKPOINT_EVERY,
            interval: DEFAULT_CHECKPOINT_INTERVAL,
        }
    }
}

/// The current head of the log in `store`, if it has any record.
pub fn head_of(store: &dyn Store) -> Result<Option<Head>, String> {
    as_head(store.audit_head().map_err(|e| e.0)?)
}

/// The head as the store last wrote it, checked against the database
/// ([`Store::audit_tip`]): an error if the log changed behind the store.
fn tip_of(store: &dyn Store) -> Result<Option<Head>, String> {
    as_head(store.audit_tip().map_err(|e| e.0)?)
}

/// A stored `(seq, hash)` as a [`Head`]; an error for a hash that is not 32
/// bytes.
fn as_head(stored: Option<(i64, Vec<u8>)>) -> Result<Option<Head>, String> {
    let Some((seq, hash)) = stored else {
        return Ok(None);
    };
    let hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| format!("audit record {seq} has a malformed hash"))?;
    Ok(Some(Head { seq, hash }))
}

/// Checks chain and MACs from `from` (the last checkpoint, or the start of
/// the log) to `to`.
fn check_segment(
    store: &dyn Store,
    key: &AuditKey,
    from: Option<Head>,
    to: Head,
) -> Result<(), String> {
    match verify_segment(store, key, from, to).map_err(|e| e.0)? {
        Ok(()) => Ok(()),
        Err(how) => {
            let message = format!(
                "the audit log does not verify between record {} and record {}: {how}; \
                 refusing to sign a checkpoint; run verify-audit",
                from.map_or(0, |h| h.seq),
                to.seq
            );
            eprintln!("careseal-relay: AUDIT LOG TAMPERED: {message}");
            Err(message)
        }
    }
}

struct Writer {
    store: Arc<dyn Store>,
    key: CheckpointKey,
    audit_key: AuditKey,
    path: PathBuf,
    /// The head of the last checkpoint in the file (`None`: none yet).
    last_head: Option<Head>,
    last: i64,
}

impl Writer {
    /// Signs and appends the head if it moved since the last checkpoint,
    /// after checking that it is the record the relay last wrote and that
    /// chain and MACs verify from the last checkpoint up to it.
    fn checkpoint(&mut self) -> Result<(), String> {
        let Some(head) = tip_of(self.store.as_ref())? else {
            return Ok(());
        };
        if head.seq <= self.last {
            return Ok(());
        }
        check_segment(self.store.as_ref(), &self.audit_key, self.last_head, head)?;
        let checkpoint = Checkpoint::sign(&self.key, head, crate::state::now_ms());
        append(&self.path, &checkpoint).map_err(|e| e.to_string())?;
        println!("careseal-relay audit checkpoint: {}", checkpoint.to_line());
        self.last = head.seq;
        self.last_head = Some(head);
        Ok(())
    }
}

/// Writes checkpoints while the relay runs: after every
/// [`CheckpointPolicy::every_records`] records, at least every
/// [`CheckpointPolicy::interval`] while the log grows, and on [`finish`].
///
/// [`finish`]: Checkpointer::finish
pub struct Checkpointer {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
}

impl Checkpointer {
    /// Checks that the log still reaches the file's last checkpoint with the
    /// same hash (a relay never extends a log that was truncated or
    /// rewritten), and that chain and MACs (under `audit_key`) verify from
    /// there to the head, then starts writing. Needs a Tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        audit_key: AuditKey,
        key: CheckpointKey,
        path: PathBuf,
        policy: CheckpointPolicy,
    ) -> Result<Self, String> {
        // Creating (or opening) the file now makes a path that cannot be
        // written stop the relay at start, not fail every checkpoint later.
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let existing = read_verified(&path, &key.public_key()).map_err(|e| match e {
            CheckpointFileError::Io(..) => e.to_string(),
            _ => format!("{}: {e}", path.display()),
        })?;
        let mut last = 0;
        let mut last_head = None;
        if let Some((line, checkpoint)) = existing.iter().max_by_key(|(_, c)| c.head.seq) {
            let head = checkpoint.head;
            let page = store.audit_page(head.seq - 1, 1).map_err(|e| e.0)?;
            match page.first() {
                Some(record) if record.seq == head.seq && record.hash[..] == head.hash[..] => {}
                _ => {
                    return Err(format!(
                        "the audit log does not match {} line {line} (record {}): it was \
                         truncated or rewritten; run verify-audit",
                        path.display(),
                        head.seq
                    ));
                }
            }
            last = head.seq;
            last_head = Some(head);
        }
        if let Some(head) = tip_of(store.as_ref())? {
            if head.seq > last {
                check_segment(store.as_ref(), &audit_key, last_head, head)?;
            }
        }
        let mut writer = Writer {
            store,
            key,
            audit_key,
            path,
            last_head,
            last,
        };
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL.min(policy.interval));
            let mut since = Instant::now();
            loop {
                tokio::select! {
                    _ = &mut stopped => {
                        return tokio::task::spawn_blocking(move || writer.checkpoint())
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    _ = tick.tick() => {}
                }
                let due_by_time = since.elapsed() >= policy.interval;
                let (back, result) = tokio::task::spawn_blocking(move || {
                    let result = match head_of(writer.store.as_ref()) {
                        Ok(Some(head))
                            if head.seq >= writer.last + policy.every_records
                                || (due_by_time && head.seq > writer.last) =>
                        {
                            writer.checkpoint().map(|()| true)
                        }
                        Ok(_) => Ok(false),
                        Err(e) => Err(e),
                    };
                    (writer, result)
                })
                .await
                .map_err(|e| e.to_string())?;
                writer = back;
                match result {
                    Ok(true) => since = Instant::now(),
                    Ok(false) if due_by_time => since = Instant::now(),
                    Ok(false) => {}
                    Err(e) => eprintln!("careseal-relay: audit checkpoint failed: {e}"),
                }
            }
        });
        Ok(Self { stop, task })
    }

    /// Writes a last checkpoint of the head and stops.
    pub async fn finish(self) -> Result<(), String> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| e.to_string())?
    }
}
