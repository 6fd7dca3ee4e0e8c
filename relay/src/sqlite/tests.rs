//! The read paths of the SQLite store: the indexes exist (also in a
//! database made before them), reads go through a pool of read-only
//! connections that neither waits for the writer nor misses its commits,
//! and the membership and list queries search indexes instead of walking a
//! clinician's panel.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::StatementStatus;

use super::*;

type TestResult = StoreResult<()>;

/// The indexes this module's queries rely on.
const READ_PATH_INDEXES: [&str; 4] = [
    "conversation_members_by_user",
    "devices_by_user",
    "envelopes_by_conversation",
    "blobs_by_conversation",
];

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("careseal-relay-unit-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let db = dir.join("relay.sqlite");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    db
}

fn index_names(store: &SqliteStore) -> StoreResult<Vec<String>> {
    store.with(|c| {
        let mut stmt = c.prepare("SELECT name FROM sqlite_master WHERE type = 'index'")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(names)
    })
}

/// Clinician `u_c` (device `d_c`) with patients `u_p1` … `u_p{n}`, each in
/// conversation `c_{i}` with them and with one device `d_p{i}`.
fn seed_panel(store: &SqliteStore, n: usize) -> StoreResult<()> {
    let patients =
        format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})");
    store.with(|c| {
        c.execute_batch(&format!(
            "BEGIN;
             INSERT INTO users VALUES ('u_c', 'clinician', 'Dr. C', 0);
             INSERT INTO devices (id, user_id, token_hash, created_at) VALUES ('d_c', 'u_c', randomblob(32), 0);
             {patients} INSERT INTO users SELECT 'u_p' || i, 'patient', 'P', 0 FROM n;
             {patients} INSERT INTO devices (id, user_id, token_hash, created_at)
               SELECT 'd_p' || i, 'u_p' || i, randomblob(32), 0 FROM n;
             {patients} INSERT INTO conversations SELECT 'c_' || i, 0 FROM n;
             {patients} INSERT INTO conversation_members SELECT 'c_' || i, 'u_c' FROM n;
             {patients} INSERT INTO conversation_members SELECT 'c_' || i, 'u_p' || i FROM n;
             COMMIT;"
        ))?;
        Ok(())
    })
}

#[test]
fn schema_has_the_read_path_indexes() -> TestResult {
    let store = SqliteStore::open(&temp_db("indexes"), AuditKey::generate()?)?;
    let names = index_names(&store)?;
    for index in READ_PATH_INDEXES {
        assert!(
            names.iter().any(|n| n == index),
            "{index} missing: {names:?}"
        );
    }
    Ok(())
}

#[test]
fn an_existing_database_gains_the_indexes() -> TestResult {
    let db = temp_db("upgrade");
    let store = SqliteStore::open(&db, AuditKey::generate()?)?;
    store.with(|c| {
        for index in READ_PATH_INDEXES {
            c.execute_batch(&format!("DROP INDEX {index}"))?;
        }
        Ok(())
    })?;
    assert!(
        index_names(&store)?
            .iter()
            .all(|n| !READ_PATH_INDEXES.contains(&n.as_str()))
    );
    drop(store);
    let names = index_names(&SqliteStore::open(&db, AuditKey::generate()?)?)?;
    for index in READ_PATH_INDEXES {
        assert!(names.iter().any(|n| n == index), "{index} not added");
    }
    Ok(())
}

/// Adds user `u_{name}` with device `d_{name}` through the writer.
fn add_user(store: &SqliteStore, name: &str) -> StoreResult<()> {
    store.with(|c| {
        c.execute(
            "INSERT INTO users VALUES (?1, 'patient', 'P', 0)",
            [format!("u_{name}")],
        )?;
        c.execute(
            "INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?1, ?2, randomblob(32), 0)",
            [format!("d_{name}"), format!("u_{name}")],
        )?;
        Ok(())
    })
}

#[test]
fn a_read_sees_every_returned_write() -> TestResult {
    let store = SqliteStore::open(&temp_db("read-after-write"), AuditKey::generate()?)?;
    for i in 0..20 {
        let name = format!("r{i}");
        add_user(&store, &name)?;
        assert_eq!(
            store.device_owner(&format!("d_{name}"))?,
            Some(format!("u_{name}"))
        );
    }
    Ok(())
}

#[test]
fn reads_do_not_wait_for_the_writer() -> TestResult {
    let store = Arc::new(SqliteStore::open(
        &temp_db("no-wait"),
        AuditKey::generate()?,
    )?);
    add_user(&store, "a")?;
    let (held, writer_held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            store.with(|_| {
                let _ = held.send(());
                // Holds the writer until the read below is done (or gives up).
                let _ = released.recv_timeout(Duration::from_secs(10));
                Ok(())
            })
        })
    };
    writer_held
        .recv_timeout(Duration::from_secs(10))
        .map_err(|e| StoreError(e.to_string()))?;
    let (done, read_done) = mpsc::channel();
    let reader = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let _ = done.send(store.device_owner("d_a"));
        })
    };
    let owner = read_done.recv_timeout(Duration::from_secs(5));
    let _ = release.send(());
    let _ = (writer.join(), reader.join());
    let owner = owner.map_err(|_| StoreError("the read waited for the writer".into()))??;
    assert_eq!(owner.as_deref(), Some("u_a"));
    Ok(())
}

#[test]
fn more_reads_than_readers_all_complete() -> TestResult {
    let store = Arc::new(SqliteStore::open(&temp_db("pool"), AuditKey::generate()?)?);
    add_user(&store, "a")?;
    let threads: Vec<_> = (0..4 * READERS)
        .map(|_| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| store.device_owner("d_a"))
                    .collect::<StoreResult<Vec<_>>>()
            })
        })
        .collect();
    for thread in threads {
        let owners = thread
            .join()
            .map_err(|_| StoreError("reader thread panicked".into()))??;
        assert!(owners.iter().all(|o| o.as_deref() == Some("u_a")));
    }
    Ok(())
}

/// The plan of `sql`, one line per step.
fn plan(store: &SqliteStore, sql: &str, params: impl rusqlite::Params) -> StoreResult<Vec<String>> {
    store.read(|c| {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
        let steps = stmt
            .query_map(params, |r| r.get(3))?
            .collect::<Result<_, _>>()?;
        Ok(steps)
    })
}

#[test]
fn membership_and_list_queries_search_indexes() -> TestResult {
    let store = SqliteStore::open(&temp_db("plans"), AuditKey::generate()?)?;
    seed_panel(&store, 100)?;
    let cases: [(&str, Vec<String>, &[&str]); 3] = [
        (
            SHARES_CONVERSATION,
            plan(
                &store,
                SHARES_CONVERSATION,
                params!["u_c", "u_p1", FEW_MEMBERSHIPS],
            )?,
            &["conversation_members_by_user"],
        ),
        (
            OTHERS_IN_CONVERSATIONS,
            plan(&store, OTHERS_IN_CONVERSATIONS, params!["u_c", "", -1])?,
            &["conversation_members_by_user", "devices_by_user"],
        ),
        (
            USER_WITH_DEVICES,
            plan(&store, USER_WITH_DEVICES, params!["u_c"])?,
            &["devices_by_user"],
        ),
    ];
    for (sql, steps, indexes) in cases {
        for index in indexes {
            assert!(
                steps.iter().any(|s| s.contains(index)),
                "{index} unused by {sql}: {steps:?}"
            );
        }
        // Only subqueries' results (the first user's first memberships, the
        // page of conversation ids) are scanned; every table is searched
        // through an index.
        for step in &steps {
            if let Some(scanned) = step.strip_prefix("SCAN ") {
                assert!(
                    ["first", "mine", "CONSTANT ROW"].contains(&scanned),
                    "{sql} scans {scanned}: {steps:?}"
                );
            }
        }
    }
    Ok(())
}

/// Virtual machine steps of one run of the membership query.
fn membership_steps(store: &SqliteStore, a: &str, b: &str) -> StoreResult<(bool, i32)> {
    store.read(|c| {
        let mut stmt = c.prepare_cached(SHARES_CONVERSATION)?;
        stmt.reset_status(StatementStatus::VmStep);
        let shared = stmt.query_row(params![a, b, FEW_MEMBERSHIPS], |r| r.get(0))?;
        Ok((shared, stmt.get_status(StatementStatus::VmStep)))
    })
}

#[test]
fn membership_check_does_not_walk_a_large_panel() -> TestResult {
    const PANEL: usize = 2000;
    let store = SqliteStore::open(&temp_db("panel"), AuditKey::generate()?)?;
    seed_panel(&store, PANEL)?;
    let last = format!("u_p{PANEL}");
    for (a, b, expected) in [
        ("u_c", last.as_str(), true),
        (last.as_str(), "u_c", true),
        ("u_p1", last.as_str(), false),
        ("u_c", "u_nobody", false),
        ("u_nobody", "u_c", false),
    ] {
        let (shared, steps) = membership_steps(&store, a, b)?;
        assert_eq!(shared, expected, "{a} and {b}");
        // Walking the clinician's memberships costs at least one step each.
        assert!(
            (steps as usize) < PANEL,
            "{a} and {b}: {steps} steps for a panel of {PANEL}"
        );
    }
    Ok(())
}
