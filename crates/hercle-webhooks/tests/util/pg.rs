//! A throwaway PostgreSQL server for tests (included with `#[path]`).
//!
//! Uses the Debian package's binaries (`/usr/lib/postgresql/<ver>/bin`,
//! installed by `.ci/run`). A missing server FAILS the test: it never skips.
//! `initdb` runs in a fresh temporary directory, `postgres` listens on a free
//! 127.0.0.1 port with its socket in that directory, readiness is its own
//! "ready to accept connections" log line, and `Drop` stops it by PID
//! (SIGINT, a fast shutdown) and deletes the directory. PostgreSQL refuses to
//! run as root, so as root both run as `nobody` through `setpriv`.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Pg {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

/// The newest `/usr/lib/postgresql/<ver>/bin` that has a `postgres` binary.
fn bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let ver: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((ver, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/<ver>/bin: \
             install the Debian package `postgresql` (.ci/run does)"
        ),
    }
}

fn id(flag: &str) -> String {
    let out = Command::new("id").args([flag, "nobody"]).output().unwrap();
    assert!(out.status.success(), "id {flag} nobody failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A command for `program`, dropped to `nobody` when we are root.
fn command(program: &Path, as_nobody: bool) -> Command {
    if as_nobody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            &id("-u"),
            "--regid",
            &id("-g"),
            "--clear-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

impl Pg {
    /// Starts a fresh cluster (`fsync` as given: off for correctness tests,
    /// on for benchmarks).
    pub fn start(fsync: bool) -> Pg {
        let bin = bin_dir();
        let dir = super::support::temp_dir("pg");
        let as_root = std::fs::metadata(&dir).unwrap().uid() == 0;
        if as_root {
            let uid: u32 = id("-u").parse().unwrap();
            let gid: u32 = id("-g").parse().unwrap();
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.join("data");
        let out = command(&bin.join("initdb"), as_root)
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"])
            .env("LC_ALL", "C")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut child = command(&bin.join("postgres"), as_root)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", &format!("fsync={}", if fsync { "on" } else { "off" })])
            .args(["-c", "max_connections=200"])
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Readiness: the server's own log line (bounded: the line or exit).
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!("postgres exited before it was ready: {:?}", child.wait());
            }
            if line.contains("ready to accept connections") {
                break;
            }
        }
        // Keep draining its log so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            while err.read_line(&mut sink).is_ok_and(|n| n > 0) {
                sink.clear();
            }
        });
        Pg { child, dir, port }
    }

    /// The connection string for the `postgres` database.
    pub fn conn_str(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// A plain client for assertions.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.conn_str(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Fast shutdown by PID, then wait for it (bounded by the server).
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub const STARTUP_BOUND: Duration = Duration::from_secs(60);
