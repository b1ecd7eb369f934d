//! Power loss under load: the real `css-errcode serve` keeps its store on a FUSE filesystem
//! that drops everything not fsynced when the power is cut (tests/common/lazyfs.rs). After
//! the cut, what the disk held is copied out and a receiver restarts on it: every callback
//! acknowledged before the cut must be there, once, in a database that passes
//! `PRAGMA integrity_check`. The same run with `--no-fsync` must lose acknowledged callbacks,
//! which shows that the test can fail.
//!
//! Needs /dev/fuse and root (to mount); without them the tests say they were skipped, unless
//! `CSS_REQUIRE_FAULT_TESTS=1` (as in CI).
#![cfg(all(feature = "serve", target_os = "linux"))]

#[path = "common/lazyfs.rs"]
mod lazyfs;
#[path = "common/receiver.rs"]
mod receiver;

use std::time::Duration;

use receiver::*;

const EVENTS: u64 = 40_000;

fn can_mount() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let ok = root && std::path::Path::new("/dev/fuse").exists();
    if !ok {
        assert!(
            std::env::var("CSS_REQUIRE_FAULT_TESTS").map_or(true, |v| v != "1"),
            "/dev/fuse and root are required (CSS_REQUIRE_FAULT_TESTS=1)"
        );
        eprintln!("skipped: mounting a FUSE filesystem needs /dev/fuse and root");
    }
    ok
}

use std::process::Command;

/// What a power cut under load left: the acknowledged callbacks, and what the disk holds.
struct AfterCut {
    acked: std::collections::HashSet<String>,
    stored: std::collections::HashMap<String, usize>,
    integrity: String,
    syncs: u64,
    data: std::path::PathBuf,
}

fn cut_power_under_load(args: &[&str]) -> AfterCut {
    let root = temp_dir("power");
    let mountpoint = root.join("mnt");
    std::fs::create_dir_all(&mountpoint).unwrap();
    let lazy = lazyfs::Lazy::default();
    let session = lazy.mount(&mountpoint).expect("mount the FUSE filesystem");
    let server = Server::start_with(&mountpoint, args, &[]);
    let address = server.address.clone();
    let sender = std::thread::spawn(move || {
        load(&address, (0..EVENTS).collect(), 16, Duration::from_secs(60))
    });
    // Let acknowledgements pile up, then cut the power and stop the machine.
    std::thread::sleep(Duration::from_millis(1_500));
    lazy.cut();
    drop(server.kill());
    let sent = sender.join().unwrap();
    session.umount_and_join().expect("unmount");

    // Boot again from what the disk held.
    let data = root.join("disk");
    lazy.disk(&data);
    let server = Server::start(&data);
    let stored = stored_sequences(&data);
    let integrity = integrity(&data);
    drop(server);
    AfterCut {
        acked: sent.acked,
        stored,
        integrity,
        syncs: lazy.syncs(),
        data,
    }
}

#[test]
fn a_power_cut_under_load_loses_nothing_acknowledged() {
    if !can_mount() {
        return;
    }
    let after = cut_power_under_load(&[]);
    assert!(
        after.acked.len() > 100,
        "load was acknowledged before the cut: {}",
        after.acked.len()
    );
    assert!(after.syncs > 0);
    assert_eq!(after.integrity, "ok");
    assert_each_acked_once(&after.acked, &after.stored);
    eprintln!(
        "{} acknowledged before the cut, {} on the disk after it",
        after.acked.len(),
        after.stored.len()
    );
    // The retries after the restart are kept once.
    let server = Server::start(&after.data);
    let resent = load(
        &server.address,
        (0..2_000).collect(),
        8,
        Duration::from_secs(60),
    );
    assert_eq!(resent.acked.len(), 2_000);
    drop(server);
    assert_each_acked_once(&resent.acked, &stored_sequences(&after.data));
    remove_root(&after);
}

/// Removes what a cut left on the disk (the mount point, the disk's copy).
fn remove_root(after: &AfterCut) {
    if let Some(root) = after.data.parent() {
        let _ = std::fs::remove_dir_all(root);
    }
}

#[test]
fn without_fsync_the_same_power_cut_loses_acknowledged_callbacks() {
    if !can_mount() {
        return;
    }
    let after = cut_power_under_load(&["--no-fsync"]);
    let lost = after
        .acked
        .iter()
        .filter(|s| !after.stored.contains_key(*s))
        .count();
    eprintln!(
        "--no-fsync: {} acknowledged before the cut, {lost} of them lost",
        after.acked.len()
    );
    assert!(after.acked.len() > 100);
    assert!(
        lost > 0,
        "a store that does not sync loses acknowledged callbacks in a power cut"
    );
    remove_root(&after);
}
