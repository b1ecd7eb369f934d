//! A real PostgreSQL for the tests: the one `CSS_TEST_POSTGRES_URL` names (each test gets a
//! database of its own on it), or one started here from the installed server binaries
//! (`initdb` and `pg_ctl` in a temporary directory, on a free port of 127.0.0.1, as a user
//! that is not root), stopped when the test ends. Where neither exists, [`Postgres::start`]
//! says the test is skipped, or fails it when `CSS_REQUIRE_POSTGRES_TESTS=1` (CI).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A server, and one database on it for this test.
pub struct Postgres {
    /// The test's database: `postgres://…/css_test_…`.
    pub url: String,
    /// The server's maintenance database, to create and drop test databases.
    admin_url: String,
    database: String,
    own: Option<Own>,
}

/// A server started by the test.
struct Own {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    user: Option<String>,
}

fn required() -> bool {
    std::env::var("CSS_REQUIRE_POSTGRES_TESTS").is_ok_and(|v| v == "1")
}

/// Where `initdb` and `pg_ctl` are: on PATH, or Debian's /usr/lib/postgresql/N/bin.
fn server_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| Some(e.ok()?.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Own {
    /// A command of the server's, as its user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(path);
                command
            }
            None => Command::new(path),
        }
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories='{}' \
             -c max_connections=200 -c fsync=on -c synchronous_commit=on",
            self.port,
            self.data.display()
        );
        self.command("pg_ctl")
            .arg("-D")
            .arg(self.data.join("cluster"))
            .args(["-l"])
            .arg(self.data.join("server.log"))
            .args(["-o", &options])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("pg_ctl runs")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }
}

impl Postgres {
    /// A database for this test, or `None` (and a line saying the test was skipped).
    pub fn start(test: &str) -> Option<Postgres> {
        let pg = Postgres::init(test, true)?;
        if pg.own.is_some() {
            pg.start_again();
        }
        pg.create_database();
        Some(pg)
    }

    /// A cluster of the test's own, made by initdb and not started yet (so that the test can
    /// move its files first), or `None` where the server binaries are missing or only
    /// `CSS_TEST_POSTGRES_URL` is given. Then [`Postgres::start_again`] and
    /// [`Postgres::create_database`].
    pub fn init_only(test: &str) -> Option<Postgres> {
        if std::env::var("CSS_TEST_POSTGRES_URL").is_ok() {
            eprintln!("{test}: skipped: needs a server of its own, not CSS_TEST_POSTGRES_URL's");
            return None;
        }
        Postgres::init(test, false)
    }

    fn init(test: &str, shared: bool) -> Option<Postgres> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let database = format!(
            "css_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        if let (true, Ok(url)) = (shared, std::env::var("CSS_TEST_POSTGRES_URL")) {
            let admin_url = url.clone();
            return Some(Postgres {
                url: with_database(&url, &database),
                admin_url,
                database,
                own: None,
            });
        }
        let Some(bin) = server_bin() else {
            assert!(
                !required(),
                "CSS_REQUIRE_POSTGRES_TESTS=1 but no initdb/pg_ctl was found (install postgresql)"
            );
            eprintln!(
                "{test}: skipped: no PostgreSQL server binaries (initdb, pg_ctl) and no CSS_TEST_POSTGRES_URL"
            );
            return None;
        };
        let data = std::env::temp_dir().join(format!("css-pg-{database}"));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap();
        let user = if is_root() {
            // initdb refuses root: the cluster belongs to the postgres user (or nobody).
            let user = ["postgres", "nobody"]
                .into_iter()
                .find(|u| {
                    Command::new("id")
                        .arg(u)
                        .output()
                        .is_ok_and(|o| o.status.success())
                })
                .expect("a user that is not root");
            give(user, &[&data]);
            Some(user.to_owned())
        } else {
            None
        };
        let own = Own {
            bin,
            data: data.clone(),
            port: free_port(),
            user,
        };
        let init = own
            .command("initdb")
            .arg("-D")
            .arg(data.join("cluster"))
            .args([
                "-U",
                "css",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(init.status.success(), "initdb: {init:?}");
        let admin_url = format!(
            "postgres://css@127.0.0.1:{}/postgres?sslmode=disable",
            own.port
        );
        Some(Postgres {
            url: with_database(&admin_url, &database),
            admin_url,
            database,
            own: Some(own),
        })
    }

    /// Creates the test's database.
    pub fn create_database(&self) {
        let mut client = postgres::Client::connect(&self.admin_url, postgres::NoTls)
            .expect("the test server takes connections");
        client
            .batch_execute(&format!("CREATE DATABASE {}", self.database))
            .unwrap();
    }

    /// A connection to the test's database.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
    }

    /// The sequences the receivers stored, each with how often it is there (read with SQL,
    /// not through the crate).
    pub fn stored(&self) -> std::collections::HashMap<String, usize> {
        self.client()
            .query(
                "SELECT sequence, count(*) FROM callbacks GROUP BY sequence",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get::<_, i64>(1) as usize))
            .collect()
    }

    /// Whether the test started the server (and can stop and start it).
    pub fn own_server(&self) -> bool {
        self.own.is_some()
    }

    /// Stops the server at once (`-m immediate`: no checkpoint, as a crash), if the test
    /// started it.
    pub fn stop(&self) {
        let own = self.own.as_ref().expect("a server of the test's own");
        let stopped = own.pg_ctl(&["-w", "-m", "immediate", "stop"]);
        assert!(stopped.status.success(), "pg_ctl stop: {stopped:?}");
    }

    /// Starts the server again after [`Postgres::stop`].
    pub fn start_again(&self) {
        let own = self.own.as_ref().expect("a server of the test's own");
        let started = own.pg_ctl(&["-w", "-t", "60", "start"]);
        assert!(
            started.status.success(),
            "pg_ctl start: {started:?}\n{}",
            own.log()
        );
    }

    /// The cluster's directory (`initdb -D`), when the test made it.
    pub fn cluster(&self) -> Option<PathBuf> {
        self.own.as_ref().map(|own| own.data.join("cluster"))
    }

    /// The user the server runs as (`None`: the test's own).
    pub fn user(&self) -> Option<&str> {
        self.own.as_ref().and_then(|own| own.user.as_deref())
    }

    /// Gives `paths` (and what they hold) to the server's user, when it is not the test's:
    /// files the test writes for the server to read.
    pub fn give(&self, paths: &[&Path]) {
        if let Some(user) = self.user() {
            give(user, paths);
        }
    }

    /// Kills the server's processes at once (SIGKILL to the postmaster and its children, as
    /// a machine that lost power), whatever state it is in.
    pub fn kill(&self) {
        let own = self.own.as_ref().expect("a server of the test's own");
        let pid_file = own.data.join("cluster/postmaster.pid");
        let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let Some(pid) = pid.lines().next().map(str::trim).filter(|p| !p.is_empty()) else {
            return;
        };
        let _ = Command::new("pkill").args(["-KILL", "-P", pid]).status();
        let _ = Command::new("kill").args(["-KILL", pid]).status();
        // Gone when the kernel no longer knows the process (its children exit with it).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "the postmaster {pid} did not die"
        );
        let _ = Command::new("pkill")
            .args(["-KILL", "-f"])
            .arg(own.data.join("cluster"))
            .status();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    /// The server's log, when the test started it.
    pub fn log(&self) -> String {
        self.own.as_ref().map(Own::log).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        match &self.own {
            Some(own) => {
                let _ = own.pg_ctl(&["-w", "-m", "immediate", "stop"]);
                let _ = std::fs::remove_dir_all(&own.data);
            }
            None => {
                if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls)
                {
                    let _ = client.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        self.database
                    ));
                }
            }
        }
    }
}

/// `url` with its database replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/{database}{query}")
}

/// The data directory of a server the test started, for a test that must look at it.
/// `chown -R user paths`.
fn give(user: &str, paths: &[&Path]) {
    let status = Command::new("chown")
        .args(["-R", user])
        .args(paths)
        .status()
        .unwrap();
    assert!(status.success(), "chown {user} {paths:?}");
}

pub fn data_dir(pg: &Postgres) -> Option<&Path> {
    pg.own.as_ref().map(|own| own.data.as_path())
}
