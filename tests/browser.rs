//! The page in a real browser: Debian's Chromium driven by playwright-core
//! (tests/browser/page.mjs) against the real receiver filled with known callbacks over HTTP.
//! Screenshots of both pages at 1280×800 go to target/screenshots/. Skipped, saying so, where
//! node, playwright-core (`npm ci --prefix tests/browser`) or Chromium is missing; with
//! CSS_REQUIRE_BROWSER_TESTS=1 (as .ci/run sets) a skip is a failure.
#![cfg(feature = "serve")]

#[path = "common/receiver.rs"]
mod receiver;

use std::path::Path;
use std::process::Command;

use receiver::*;
use serde_json::json;

fn missing() -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core (npm ci --prefix tests/browser)".to_owned());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    if !Path::new(&chromium).exists() {
        return Some(chromium);
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node".to_owned());
    }
    None
}

#[test]
fn the_page_in_chromium_shows_what_was_sent() {
    if let Some(what) = missing() {
        assert!(
            std::env::var("CSS_REQUIRE_BROWSER_TESTS").is_err(),
            "browser test required but {what} is missing"
        );
        eprintln!("skipped: {what} is missing");
        return;
    }
    let data = temp_dir("browser");
    let server = Server::start(&data);
    let now = now();
    let odd = "<script>alert(1)</script>";
    let mut bodies = vec![
        push_callback("studio-1", "primary", now - 3_600, None),
        push_callback("studio-1", "backup", now - 3_590, None),
        push_callback(odd, "odd", now - 1_800, None),
    ];
    // 30 interruptions over the last day: network, client stops, account, auth, idle.
    let codes = [12, 1, 12, 18, 20, 12, 3, 40, 12, 21];
    for n in 0..30u32 {
        let errcode = codes[n as usize % codes.len()];
        bodies.push(push_callback(
            &format!("room{}", n % 7),
            &format!("e{n}"),
            now - 80_000 + i64::from(n) * 2_500,
            Some(errcode),
        ));
    }
    for body in &bodies {
        assert_eq!(server.post(body).0, 200);
    }
    let network = (0..30).filter(|n| codes[n % codes.len()] == 12).count();
    let expected = json!({
        "live": 2, "total": 30, "network": network, "odd_stream": odd, "pair_stream": "studio-1",
    });
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let output = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/page.mjs"))
        .arg(format!("http://{}", server.admin_address))
        .arg(expected.to_string())
        .arg(&shots)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(shots.join("overview.png").exists() && shots.join("stream.png").exists());
    drop(server);
    std::fs::remove_dir_all(data).unwrap();
}
