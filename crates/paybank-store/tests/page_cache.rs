//! The wrapped page cache (`install_page_cache`) against SQLite's own checks: growing and
//! shrinking files, rolled-back growth, page splits, small and large caches, a second
//! connection reading, checkpoints and a VACUUM. A dropped page left behind past the end would
//! come back as stale content on a later read: wrong sums, or `integrity_check` failing.
//!
//! Its own test binary, with one test, because the wrapper must be installed before SQLite is
//! first used in the process.

use std::collections::BTreeSet;

use rusqlite::{params, Connection};

/// A fixed-seed generator, so a failure repeats.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What the rows add up to: their count and the sum of their keys.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
struct Expected {
    rows: i64,
    key_sum: i64,
}

impl Expected {
    fn of(keys: &BTreeSet<i64>) -> Expected {
        Expected {
            rows: keys.len() as i64,
            key_sum: keys.iter().sum(),
        }
    }
}

fn totals(connection: &Connection) -> Expected {
    connection
        .query_row("SELECT count(*), coalesce(sum(k), 0) FROM t", [], |row| {
            Ok(Expected {
                rows: row.get(0)?,
                key_sum: row.get(1)?,
            })
        })
        .expect("totals")
}

fn open(path: &std::path::Path, cache_pages: i64) -> Connection {
    let connection = Connection::open(path).expect("open");
    connection
        .execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA cache_size = {cache_pages};"
        ))
        .expect("pragmas");
    connection
}

/// One transaction of inserts and, now and then, a deletion of a range; some are rolled back.
/// `keys` follows what was committed.
fn transaction(
    connection: &Connection,
    numbers: &mut Numbers,
    round: u32,
    keys: &mut BTreeSet<i64>,
) {
    connection.execute_batch("BEGIN").expect("begin");
    let mut changed = keys.clone();
    for _ in 0..60 {
        let key = (numbers.next() % 1_000_000_000) as i64;
        let blob = vec![(key % 251) as u8; 150 + (key % 300) as usize];
        connection
            .execute(
                "INSERT OR IGNORE INTO t (k, v, w) VALUES (?1, ?2, ?3)",
                params![key, blob, format!("{:x}", numbers.next())],
            )
            .expect("insert");
        changed.insert(key);
    }
    if round % 9 == 4 {
        let low = (numbers.next() % 1_000_000_000) as i64;
        connection
            .execute("DELETE FROM t WHERE k BETWEEN ?1 AND ?1 + 200000000", [low])
            .expect("delete");
        changed.retain(|key| !(low..=low + 200_000_000).contains(key));
    }
    if round % 7 == 3 {
        connection.execute_batch("ROLLBACK").expect("rollback");
        return;
    }
    connection.execute_batch("COMMIT").expect("commit");
    *keys = changed;
}

fn run(cache_pages: i64, seed: u64) {
    let dir = std::env::temp_dir().join(format!(
        "paybank-page-cache-{}-{cache_pages}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the directory");
    let path = dir.join("cache.db");
    let writer = open(&path, cache_pages);
    writer
        .execute_batch(
            "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL, w TEXT NOT NULL);
             CREATE INDEX t_by_w ON t (w);",
        )
        .expect("schema");
    let reader = open(&path, cache_pages);
    let mut numbers = Numbers(seed);
    let mut keys = BTreeSet::new();
    for round in 0..400 {
        transaction(&writer, &mut numbers, round, &mut keys);
        let expected = Expected::of(&keys);
        assert_eq!(totals(&writer), expected, "writer, round {round}");
        assert_eq!(totals(&reader), expected, "reader, round {round}");
        if round % 50 == 49 {
            writer
                .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                .expect("checkpoint");
        }
        if round == 250 {
            writer
                .execute("DELETE FROM t WHERE k % 3 = 0", [])
                .expect("thin");
            keys.retain(|key| key % 3 != 0);
            writer.execute_batch("VACUUM").expect("vacuum");
        }
    }
    let expected = Expected::of(&keys);
    for connection in [&writer, &reader, &open(&path, cache_pages)] {
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok");
        assert_eq!(totals(connection), expected);
    }
    drop((writer, reader));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_wrapped_cache_keeps_every_read_right() {
    assert!(
        paybank_store::install_page_cache(),
        "installed before SQLite's first use"
    );
    assert!(
        paybank_store::install_page_cache(),
        "a second call reports the same"
    );
    // Large enough to keep every page (the writer's 32 MiB, as in the store), and small enough
    // that SQLite recycles pages all the time.
    run(-32_768, 0x9E37_79B9_7F4A_7C15);
    run(40, 0x2545_F491_4F6C_DD1D);
}
