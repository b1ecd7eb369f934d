//! The real `css-errcode serve` binary for the tests: started on 127.0.0.1 port 0 (optionally
//! under a wrapper such as strace), spoken to over real HTTP, and its store read with SQLite
//! directly (not through the crate's reader).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tencent_css_errcode::events::sign;

pub const BIN: &str = env!("CARGO_BIN_EXE_css-errcode");
pub const KEY: &str = "serve-test-key";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "css-errcode-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A running receiver; killed if the test ends first.
pub struct Server {
    pub child: Child,
    pub address: String,
    /// The admin listener: the page, `/api/…`, `/metrics`.
    pub admin_address: String,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[], &[])
    }

    /// Starts `serve` on `data` with more arguments, under `wrapper` (a command and its
    /// arguments, such as strace) when it is not empty.
    pub fn start_with(data: &Path, args: &[&str], wrapper: &[&str]) -> Server {
        Server::start_env(data, args, wrapper, &[])
    }

    /// As [`Server::start_with`], with these environment variables set too.
    pub fn start_env(data: &Path, args: &[&str], wrapper: &[&str], env: &[(&str, &str)]) -> Server {
        let data = data.to_str().expect("a UTF-8 test directory");
        Server::start_store(&["--data-dir", data], args, wrapper, env)
    }

    /// Starts `serve` on the store that `store` names (`--data-dir DIR`, `--database-env
    /// VAR`, …), with more arguments, under `wrapper`, with these environment variables.
    pub fn start_store(
        store: &[&str],
        args: &[&str],
        wrapper: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--key-env",
                "SERVE_TEST_KEY",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .args(store)
            .args(args)
            .env("SERVE_TEST_KEY", KEY)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a signal reaches a wrapper and the receiver under it.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let mut admin = String::new();
        stdout.read_line(&mut admin).unwrap();
        let (Some(address), Some(admin_address)) = (
            line.trim().strip_prefix("listening on "),
            admin.trim().strip_prefix("admin on "),
        ) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no addresses in {line:?} {admin:?}; stderr: {}",
                stderr.join().unwrap()
            );
        };
        Server {
            address: address.to_owned(),
            admin_address: admin_address.to_owned(),
            child,
            stderr: Some(stderr),
        }
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let (status, _, body) =
            request(&self.address, method, path, body).expect("the receiver answers");
        (status, body)
    }

    pub fn post(&self, body: &str) -> (u16, Value) {
        let (status, text) = self.request("POST", "/callback", body.as_bytes());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A request to the admin listener.
    pub fn admin(&self, method: &str, path: &str) -> (u16, String) {
        let (status, _, body) =
            request(&self.admin_address, method, path, b"").expect("the admin listener answers");
        (status, body)
    }

    pub fn metrics(&self) -> String {
        self.admin("GET", "/metrics").1
    }

    /// Sends `signal` to the receiver's process group (the receiver, and a wrapper if any).
    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args([signal, "--", &group])
            .stderr(Stdio::null())
            .status();
    }

    /// SIGKILL: what the receiver logged.
    pub fn kill(mut self) -> String {
        self.signal("-KILL");
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default()
    }

    /// SIGTERM: the exit code and what the receiver logged.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        self.signal("-TERM");
        let code = self.child.wait().unwrap().code();
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        (code, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal("-KILL");
        }
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: the status, the headers and the body.
pub fn request(
    address: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    request_with(address, method, path, &[], body)
}

/// As [`request`], with more headers.
pub fn request_with(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {text:?}")))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Ok((status, head.to_owned(), body.to_owned()))
}

/// A callback body signed with `key`, expiring at `t`.
pub fn callback(
    key: &str,
    t: i64,
    event_type: u32,
    sequence: &str,
    errcode: Option<u32>,
) -> String {
    let mut body = json!({
        "t": t, "sign": sign(key, t), "event_type": event_type, "appid": 1250000000,
        "app": "push.example.com", "appname": "live", "stream_id": format!("room-{sequence}"),
        "event_time": 1_700_000_000, "sequence": sequence, "push_duration": "61000"
    });
    if let Some(errcode) = errcode {
        body["errcode"] = json!(errcode);
    }
    body.to_string()
}

/// A callback of one push of `stream` on push.example.com/live: a start (`errcode` None) or
/// an end, at `event_time`.
pub fn push_callback(
    stream: &str,
    sequence: &str,
    event_time: i64,
    errcode: Option<u32>,
) -> String {
    let t = now() + 600;
    let mut body = json!({
        "t": t, "sign": sign(KEY, t), "event_type": if errcode.is_some() { 0 } else { 1 },
        "app": "push.example.com", "appname": "live", "stream_id": stream, "sequence": sequence,
        "event_time": event_time, "user_ip": "198.51.100.7", "node": "203.0.113.9",
    });
    if let Some(errcode) = errcode {
        body["errcode"] = json!(errcode);
        body["push_duration"] = json!("30000");
    }
    body.to_string()
}

pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// What a load run saw: the sequences acknowledged with 200, and how many got each other
/// status.
#[derive(Default, Debug)]
pub struct Sent {
    pub acked: HashSet<String>,
    pub statuses: HashMap<u16, usize>,
    pub retry_after: usize,
}

/// Sends the events `sequences` from `threads` threads, for at most `limit`; a thread stops
/// at its first connection error.
pub fn load(address: &str, sequences: Vec<u64>, threads: usize, limit: Duration) -> Sent {
    let sent = Arc::new(Mutex::new(Sent::default()));
    let sequences = Arc::new(sequences);
    let t = now() + 600;
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (address, sent, sequences) = (address.to_owned(), sent.clone(), sequences.clone());
            std::thread::spawn(move || {
                let deadline = Instant::now() + limit;
                for &n in sequences.iter().skip(thread).step_by(threads) {
                    if Instant::now() > deadline {
                        break;
                    }
                    let sequence = n.to_string();
                    let body = callback(KEY, t, 0, &sequence, Some((n % 40) as u32));
                    match request(&address, "POST", "/callback", body.as_bytes()) {
                        Ok((status, head, _)) => {
                            let mut sent = sent.lock().unwrap();
                            *sent.statuses.entry(status).or_default() += 1;
                            if status == 200 {
                                sent.acked.insert(sequence);
                            }
                            if head.to_ascii_lowercase().contains("\r\nretry-after: 1") {
                                sent.retry_after += 1;
                            }
                        }
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        let _ = handle.join();
    }
    Arc::try_unwrap(sent).unwrap().into_inner().unwrap()
}

/// The database of a data directory, opened by the tests themselves.
pub fn database(data: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(data.join("events.db")).unwrap()
}

/// The stored bodies, in order of receipt.
pub fn stored_bodies(data: &Path) -> Vec<String> {
    let conn = database(data);
    let mut statement = conn
        .prepare("SELECT body FROM callbacks ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The sequences stored, each with how often it is there.
pub fn stored_sequences(data: &Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for body in stored_bodies(data) {
        let value: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        *counts
            .entry(value["sequence"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}

/// `PRAGMA integrity_check` of the store: "ok" when the database is whole.
pub fn integrity(data: &Path) -> String {
    database(data)
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

/// Every acknowledged sequence is stored exactly once.
pub fn assert_each_acked_once(acked: &HashSet<String>, stored: &HashMap<String, usize>) {
    for sequence in acked {
        assert_eq!(
            stored.get(sequence),
            Some(&1),
            "acknowledged {sequence} is stored once"
        );
    }
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
}
