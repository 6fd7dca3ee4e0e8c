//! Verifying the audit log: every record's chain hash and MAC, and that the
//! log reaches every anchor (signed checkpoint or expected head) with the
//! same hash there. What each check detects is listed in docs/RELAY.md.

use std::collections::BTreeMap;
use std::fmt;

use super::checkpoint::{Checkpoint, Head};
use super::keys::AuditKey;
use super::{GENESIS, record_hash, record_mac_matches};
use crate::store::{Store, StoreResult};

/// Records read per query while verifying.
const PAGE: usize = 10_000;

/// Something the log must reach, with the same hash there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// A signed checkpoint: its line in the checkpoints file, its time.
    Checkpoint {
        /// 1-based line number.
        line: usize,
        /// When it was signed, Unix milliseconds.
        at: i64,
    },
    /// The head given on the command line.
    Expected,
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anchor::Checkpoint { line, at } => {
                write!(f, "checkpoint on line {line} (signed at {at} ms)")
            }
            Anchor::Expected => f.write_str("the expected head"),
        }
    }
}

/// How the log was found altered: the first problem, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tampered {
    /// A sequence number is missing or out of place (a record was deleted
    /// or inserted).
    Gap {
        /// The number expected.
        expected: i64,
        /// The number found.
        found: i64,
    },
    /// A record's hash does not match its fields and its predecessor's hash.
    Hash {
        /// The record.
        seq: i64,
    },
    /// A record has no MAC, or a MAC the audit key did not make.
    Mac {
        /// The record.
        seq: i64,
    },
    /// A record's hash is not the one an anchor gives for it (the log was
    /// rewritten up to there).
    Anchor {
        /// The record.
        seq: i64,
        /// The anchor.
        anchor: Anchor,
    },
    /// The log ends before an anchor (its tail was removed).
    Truncated {
        /// The last record present (0: none).
        last: i64,
        /// The record the anchor requires.
        required: i64,
        /// The anchor.
        anchor: Anchor,
    },
    /// Two anchors give different hashes for one record.
    Conflict {
        /// The record.
        seq: i64,
    },
}

impl fmt::Display for Tampered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tampered::Gap { expected, found } => {
                write!(
                    f,
                    "record {expected} is missing (found record {found} in its place)"
                )
            }
            Tampered::Hash { seq } => write!(
                f,
                "record {seq}: its hash does not match its contents and the record before it"
            ),
            Tampered::Mac { seq } => write!(
                f,
                "record {seq}: its MAC is missing or was not made with the audit key"
            ),
            Tampered::Anchor { seq, anchor } => {
                write!(f, "record {seq}: its hash differs from {anchor}")
            }
            Tampered::Truncated {
                last,
                required,
                anchor,
            } => write!(
                f,
                "the log ends at record {last}, but {anchor} requires record {required}: \
                 records {}..={required} are missing",
                last + 1
            ),
            Tampered::Conflict { seq } => {
                write!(f, "record {seq}: the anchors disagree about its hash")
            }
        }
    }
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record verifies and every anchor is reached.
    Intact {
        /// Records checked.
        records: u64,
        /// The last record, if any.
        head: Option<Head>,
        /// The furthest anchor reached (0: none given).
        anchored: i64,
    },
    /// The first problem found.
    Tampered(Tampered),
}

/// What the log must reach, checked while it is read.
#[derive(Debug, Default)]
pub struct Anchors {
    required: BTreeMap<i64, ([u8; 32], Anchor)>,
    conflict: Option<i64>,
}

impl Anchors {
    /// No anchors: only the chain and the MACs are checked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds checkpoints (their signatures already checked) with their line
    /// numbers.
    pub fn with_checkpoints(mut self, checkpoints: &[(usize, Checkpoint)]) -> Self {
        for (line, checkpoint) in checkpoints {
            let anchor = Anchor::Checkpoint {
                line: *line,
                at: checkpoint.at,
            };
            self.add(checkpoint.head, anchor);
        }
        self
    }

    /// Adds the head the log is expected to have reached.
    pub fn with_expected_head(mut self, head: Head) -> Self {
        self.add(head, Anchor::Expected);
        self
    }

    fn add(&mut self, head: Head, anchor: Anchor) {
        match self.required.get(&head.seq) {
            Some((hash, _)) if *hash != head.hash => {
                self.conflict = Some(self.conflict.map_or(head.seq, |c| c.min(head.seq)));
            }
            Some(_) => {}
            None => {
                self.required.insert(head.seq, (head.hash, anchor));
            }
        }
    }
}

/// Reads the whole log from `store` and checks, record by record, the
/// sequence numbers, the hash chain, the MACs under `key`, and the hashes
/// the anchors give; then that the log reaches the furthest anchor.
pub fn verify(store: &dyn Store, key: &AuditKey, anchors: &Anchors) -> StoreResult<Verdict> {
    if let Some(seq) = anchors.conflict {
        return Ok(Verdict::Tampered(Tampered::Conflict { seq }));
    }
    let mut previous = GENESIS.to_vec();
    let mut last = 0;
    loop {
        let page = store.audit_page(last, PAGE)?;
        if page.is_empty() {
            break;
        }
        for stored in &page {
            let expected = last + 1;
            if stored.seq != expected {
                return Ok(Verdict::Tampered(Tampered::Gap {
                    expected,
                    found: stored.seq,
                }));
            }
            let seq = stored.seq;
            if record_hash(&previous, seq, &stored.record)[..] != stored.hash[..] {
                return Ok(Verdict::Tampered(Tampered::Hash { seq }));
            }
            let mac_ok = stored
                .mac
                .as_deref()
                .is_some_and(|mac| record_mac_matches(key, &stored.hash, mac));
            if !mac_ok {
                return Ok(Verdict::Tampered(Tampered::Mac { seq }));
            }
            if let Some((hash, anchor)) = anchors.required.get(&seq) {
                if hash[..] != stored.hash[..] {
                    return Ok(Verdict::Tampered(Tampered::Anchor {
                        seq,
                        anchor: *anchor,
                    }));
                }
            }
            previous.clone_from(&stored.hash);
            last = seq;
        }
    }
    if let Some((&required, &(_, anchor))) = anchors.required.last_key_value() {
        if required > last {
            return Ok(Verdict::Tampered(Tampered::Truncated {
                last,
                required,
                anchor,
            }));
        }
    }
    let head = if last == 0 {
        None
    } else {
        let hash: [u8; 32] = previous
            .try_into()
            .map_err(|_| crate::store::StoreError("malformed audit hash".into()))?;
        Some(Head { seq: last, hash })
    };
    Ok(Verdict::Intact {
        records: last as u64,
        head,
        anchored: anchors.required.last_key_value().map_or(0, |(s, _)| *s),
    })
}

/// Checks the records after `from` (the start of the log if `None`) up to
/// `to`: consecutive sequence numbers, each hash chained to the one before,
/// each MAC under `key`, and `to`'s hash at its sequence number. Records
/// after `to` are not read. What a checkpointer checks before it signs `to`.
pub fn verify_segment(
    store: &dyn Store,
    key: &AuditKey,
    from: Option<Head>,
    to: Head,
) -> StoreResult<Result<(), Tampered>> {
    let (mut last, mut previous) = match from {
        Some(head) => (head.seq, head.hash.to_vec()),
        None => (0, GENESIS.to_vec()),
    };
    // The record `from` names must still be there with its hash.
    if let Some(head) = from {
        let page = store.audit_page(head.seq - 1, 1)?;
        match page.first() {
            Some(record) if record.seq == head.seq && record.hash[..] == head.hash[..] => {}
            Some(record) if record.seq == head.seq => {
                return Ok(Err(Tampered::Anchor {
                    seq: head.seq,
                    anchor: Anchor::Expected,
                }));
            }
            _ => {
                return Ok(Err(Tampered::Truncated {
                    last: 0,
                    required: head.seq,
                    anchor: Anchor::Expected,
                }));
            }
        }
    }
    while last < to.seq {
        let page = store.audit_page(last, PAGE.min((to.seq - last) as usize))?;
        if page.is_empty() {
            break;
        }
        for stored in &page {
            let expected = last + 1;
            if stored.seq != expected {
                return Ok(Err(Tampered::Gap {
                    expected,
                    found: stored.seq,
                }));
            }
            let seq = stored.seq;
            if record_hash(&previous, seq, &stored.record)[..] != stored.hash[..] {
                return Ok(Err(Tampered::Hash { seq }));
            }
            let mac_ok = stored
                .mac
                .as_deref()
                .is_some_and(|mac| record_mac_matches(key, &stored.hash, mac));
            if !mac_ok {
                return Ok(Err(Tampered::Mac { seq }));
            }
            previous.clone_from(&stored.hash);
            last = seq;
        }
    }
    if last < to.seq {
        return Ok(Err(Tampered::Truncated {
            last,
            required: to.seq,
            anchor: Anchor::Expected,
        }));
    }
    if previous[..] != to.hash[..] {
        return Ok(Err(Tampered::Anchor {
            seq: to.seq,
            anchor: Anchor::Expected,
        }));
    }
    Ok(Ok(()))
}
