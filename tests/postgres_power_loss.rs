//! Power loss under load on PostgreSQL: the test's own server keeps its write-ahead log on a
//! FUSE filesystem that drops everything not fsynced when the power is cut
//! (tests/common/lazyfs.rs), the real `css-errcode serve` takes callbacks into it, the power is
//! cut and every process killed; then what the log's disk held is copied back and PostgreSQL
//! recovers from it. Every callback acknowledged before the cut must be there, once. The same
//! run with `--no-fsync` (the receiver's connections commit with `synchronous_commit=off`) must
//! lose acknowledged callbacks, which shows the test can fail.
//!
//! Only the log is on the lazy filesystem: PostgreSQL writes a data page only after the log
//! that covers it is flushed, so data files that survive whole are a state a power cut can
//! leave. Needs /dev/fuse, root (to mount) and the PostgreSQL server binaries; without them the
//! tests say they were skipped, unless `CSS_REQUIRE_FAULT_TESTS=1` and
//! `CSS_REQUIRE_POSTGRES_TESTS=1` (as in CI).
#![cfg(all(feature = "serve", feature = "postgres", target_os = "linux"))]

#[path = "common/lazyfs.rs"]
mod lazyfs;
#[path = "common/postgres.rs"]
mod postgres_server;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use postgres_server::Postgres;
use receiver::*;

fn can_mount() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let ok = root && Path::new("/dev/fuse").exists();
    if !ok {
        assert!(
            std::env::var("CSS_REQUIRE_FAULT_TESTS").map_or(true, |v| v != "1"),
            "/dev/fuse and root are required (CSS_REQUIRE_FAULT_TESTS=1)"
        );
        eprintln!("skipped: mounting a FUSE filesystem needs /dev/fuse and root");
    }
    ok
}

/// The numeric uid and gid of `user`.
fn ids(user: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, user]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Copies the tree `from` into `to` (which exists).
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

struct AfterCut {
    acked: HashSet<String>,
    stored: HashMap<String, usize>,
    syncs: u64,
}

fn cut_power_under_load(args: &[&str]) -> Option<AfterCut> {
    let pg = Postgres::init_only("postgres_power_loss")?;
    let cluster = pg.cluster().unwrap();
    let wal = cluster.join("pg_wal");
    let mountpoint = cluster.parent().unwrap().join("lazy-wal");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let lazy = lazyfs::Lazy::default();
    if let Some(user) = pg.user() {
        let (uid, gid) = ids(user);
        lazy.owned_by(uid, gid);
    }
    let session = lazy.mount(&mountpoint).expect("mount the FUSE filesystem");
    // The log moves onto the lazy filesystem, synced as initdb left it.
    copy_tree(&wal, &mountpoint);
    lazy.sync_all();
    std::fs::remove_dir_all(&wal).unwrap();
    std::os::unix::fs::symlink(&mountpoint, &wal).unwrap();
    pg.start_again();
    pg.create_database();

    let server = Server::start_store(
        &["--database-env", "CSS_TEST_DATABASE"],
        args,
        &[],
        &[("CSS_TEST_DATABASE", &pg.url)],
    );
    let address = server.address.clone();
    let sender = std::thread::spawn(move || {
        load(&address, (0..100_000).collect(), 16, Duration::from_secs(6))
    });
    // Let acknowledgements pile up, then cut the power and stop every process.
    std::thread::sleep(Duration::from_millis(2_000));
    lazy.cut();
    pg.kill();
    drop(server.kill());
    let sent = sender.join().unwrap();
    session.umount_and_join().expect("unmount");

    // Boot again from what the disk held: PostgreSQL recovers from the log that was synced.
    std::fs::remove_file(&wal).unwrap();
    lazy.disk(&wal);
    pg.give(&[&wal]);
    pg.start_again();
    let stored = pg.stored();
    Some(AfterCut {
        acked: sent.acked,
        stored,
        syncs: lazy.syncs(),
    })
}

#[test]
fn a_power_cut_under_load_loses_nothing_acknowledged() {
    if !can_mount() {
        return;
    }
    let Some(after) = cut_power_under_load(&[]) else {
        return;
    };
    assert!(
        after.acked.len() > 100,
        "load was acknowledged before the cut: {}",
        after.acked.len()
    );
    assert!(after.syncs > 0, "the log was synced");
    assert_each_acked_once(&after.acked, &after.stored);
    eprintln!(
        "postgres power cut: {} acknowledged before the cut, {} on the disk after it, {} syncs",
        after.acked.len(),
        after.stored.len(),
        after.syncs
    );
}

#[test]
fn without_synchronous_commit_the_same_power_cut_loses_acknowledged_callbacks() {
    if !can_mount() {
        return;
    }
    let Some(after) = cut_power_under_load(&["--no-fsync"]) else {
        return;
    };
    let lost = after
        .acked
        .iter()
        .filter(|s| !after.stored.contains_key(*s))
        .count();
    eprintln!(
        "postgres --no-fsync: {} acknowledged before the cut, {lost} of them lost",
        after.acked.len()
    );
    assert!(
        lost > 0,
        "commits that do not wait for the log's flush lose acknowledged callbacks in a power cut"
    );
}
