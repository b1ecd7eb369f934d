//! Faults injected into the real `css-errcode serve`: a failed fsync (strace's syscall fault
//! injection) and a full disk (a small tmpfs). Each needs a tool or root: without them the
//! test says it was skipped, unless `CSS_REQUIRE_FAULT_TESTS=1` (as in CI), where a missing
//! tool fails it.
#![cfg(feature = "serve")]

#[path = "common/receiver.rs"]
mod receiver;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use receiver::*;

fn required() -> bool {
    std::env::var("CSS_REQUIRE_FAULT_TESTS").is_ok_and(|v| v == "1")
}

/// Whether the test can run; prints why not, or fails when the tests are required.
fn available(what: &str, ok: bool) -> bool {
    if !ok {
        assert!(
            !required(),
            "{what} is required (CSS_REQUIRE_FAULT_TESTS=1)"
        );
        eprintln!("skipped: {what} is not available here");
    }
    ok
}

fn has_strace() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Posts the events one after another: the statuses in order.
fn post_each(server: &Server, t: i64, sequences: impl Iterator<Item = u64>) -> Vec<(u64, u16)> {
    sequences
        .map(|n| {
            let body = callback(KEY, t, 0, &n.to_string(), Some(1));
            (n, server.post(&body).0)
        })
        .collect()
}

fn acked(statuses: &[(u64, u16)]) -> HashSet<String> {
    statuses
        .iter()
        .filter(|(_, s)| *s == 200)
        .map(|(n, _)| n.to_string())
        .collect()
}

#[test]
fn a_failed_fsync_answers_503_and_nothing_is_kept_twice() {
    if !available("strace", has_strace()) {
        return;
    }
    let data = temp_dir("eio");
    // The 12th fsync fails with EIO: past the start-up's (about 7), inside the commits of the
    // callbacks below, one commit each.
    let strace = [
        "strace",
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=fsync,fdatasync",
        "-e",
        "inject=fsync,fdatasync:error=EIO:when=12",
    ];
    let server = Server::start_with(&data, &[], &strace);
    let t = now() + 600;
    let first = post_each(&server, t, 0..20);
    let refused: Vec<u64> = first
        .iter()
        .filter(|(_, s)| *s != 200)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(refused.len(), 1, "one commit's fsync failed: {first:?}");
    assert!(
        first.iter().all(|(_, s)| [200, 503].contains(s)),
        "{first:?}"
    );
    let text = server.metrics();
    assert_eq!(
        metric(&text, "css_callbacks_total{outcome=\"unstored\"}"),
        1.0
    );
    assert_eq!(metric(&text, "css_store_healthy"), 1.0, "recovered at once");
    assert_eq!(server.request("GET", "/healthz", b"").0, 200);
    // Tencent's retries: the refused one is kept now; every other is a duplicate.
    let again = post_each(&server, t + 60, 0..20);
    assert!(again.iter().all(|(_, s)| *s == 200), "{again:?}");
    assert_eq!(
        metric(
            &server.metrics(),
            "css_callbacks_total{outcome=\"duplicate\"}"
        ),
        19.0,
        "the refused event was not kept by the failed commit"
    );
    let log = server.kill();
    assert!(log.contains("disk I/O error"), "{log}");
    let stored = stored_sequences(&data);
    assert_each_acked_once(&acked(&again), &stored);
    assert_eq!(stored.len(), 20);
    assert_eq!(integrity(&data), "ok");
    std::fs::remove_dir_all(data).unwrap();
}

/// A tmpfs mounted for one test, unmounted when it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `file` until a write fails for want of space.
fn fill(file: &Path) {
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .unwrap();
    let chunk = vec![0u8; 16 * 1024];
    loop {
        match out.write_all(&chunk).and_then(|()| out.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", file.display()),
        }
    }
    // What a page short of a chunk leaves.
    let _ = out.write_all(&[0u8; 512]);
    let _ = out.write_all(&[0u8; 1]);
}

#[test]
fn a_full_disk_answers_503_until_space_is_freed_and_loses_nothing_acknowledged() {
    let root = temp_dir("full");
    let Some(mount) = (if is_root() {
        Tmpfs::mount(&root.join("mnt"), "8m")
    } else {
        None
    }) else {
        available("a tmpfs mount (root)", false);
        return;
    };
    let data = mount.0.join("data");
    let server = Server::start(&data);
    let t = now() + 600;
    let before = post_each(&server, t, 0..50);
    assert!(before.iter().all(|(_, s)| *s == 200));
    let filler = mount.0.join("filler");
    fill(&filler);
    // With the disk full, a commit fails: 503, and so does /healthz.
    let during = post_each(&server, t, 50..400);
    assert!(
        during.iter().any(|(_, s)| *s == 503),
        "a full disk refuses a commit: {during:?}"
    );
    assert!(during.iter().all(|(_, s)| [200, 503].contains(s)));
    assert_eq!(server.request("GET", "/healthz", b"").0, 503);
    assert!(
        metric(
            &server.metrics(),
            "css_callbacks_total{outcome=\"unstored\"}"
        ) >= 1.0
    );
    // Space again: healthy, and the retries are kept.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(server.request("GET", "/healthz", b"").0, 200);
    let after = post_each(&server, t + 60, 0..400);
    assert!(after.iter().all(|(_, s)| *s == 200), "{after:?}");
    let log = server.kill();
    assert!(log.contains("disk is full"), "{log}");
    let mut acknowledged = acked(&before);
    acknowledged.extend(acked(&during));
    let stored = stored_sequences(&data);
    assert_each_acked_once(&acknowledged, &stored);
    assert_each_acked_once(&acked(&after), &stored);
    assert_eq!(stored.len(), 400);
    assert_eq!(integrity(&data), "ok");
    drop(mount);
    std::fs::remove_dir_all(root).unwrap();
}
