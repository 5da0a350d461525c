//! A fresh database in the shared test server ([`Database`]), and a PostgreSQL cluster of a
//! test's own ([`Cluster`]), from the binaries `.ci/steps/10-postgres.sh` found
//! (`LRT_TEST_PG_BIN`): for tests that stop and start the server or change its TLS settings,
//! which must not disturb the shared one. Trust authentication on a free loopback port, run
//! by the `postgres` account when the test runs as root (PostgreSQL refuses root). Stopped and
//! removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Ends the PostgreSQL sessions holding KB `(tenant, kb)`'s ingest lock, as a connection
/// reset, a failover or a network cut would, leaving their processes running; how many.
pub fn end_lock_sessions(c: &mut postgres::Client, tenant: uuid::Uuid, kb: uuid::Uuid) -> usize {
    // An advisory lock on a bigint key shows its high half as `classid`, its low half as `objid`.
    let key = lrt::store::pg::ingest_lock_key(tenant, kb) as u64;
    let sql = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
           AND classid = {} AND objid = {} AND objsubid = 1",
        key >> 32,
        key as u32
    );
    c.query(&sql, &[]).unwrap().len()
}

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    /// `-c name=value` settings for every start.
    settings: Vec<String>,
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// `program ARGS` as the account that runs the cluster.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// A fresh, stopped cluster; `None` (SKIPPED) without `LRT_TEST_PG_BIN` outside CI.
    pub fn init(test: &str) -> Option<Cluster> {
        let bin = PathBuf::from(super::external::component("LRT_TEST_PG_BIN", test)?);
        let dir = std::env::temp_dir().join(format!("lrt-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        if is_root() {
            run(
                Command::new("chown").arg("postgres").arg(&dir),
                "chown the cluster directory",
            );
        }
        let cluster = Cluster {
            dir,
            bin,
            port: free_port(),
            settings: vec!["listen_addresses=127.0.0.1".into(), "fsync=off".into()],
        };
        run(
            as_owner(&cluster.bin.join("initdb"))
                .arg("-D")
                .arg(cluster.data())
                .args(["-U", "lrt", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"]),
            "initdb",
        );
        Some(cluster)
    }

    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Adds `name=value` to the server's settings (from the next start).
    pub fn set(&mut self, setting: &str) {
        self.settings.push(setting.to_string());
    }

    /// Writes `contents` to `name` in the data directory, owned by the cluster's account
    /// with mode `mode` (a server key must be 0600 and the server's).
    pub fn write(&self, name: &str, contents: &[u8], mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.data().join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        if is_root() {
            run(Command::new("chown").arg("postgres").arg(&path), "chown");
        }
    }

    pub fn start(&self) {
        let mut options = format!("-p {} -k {}", self.port, self.dir.display());
        for s in &self.settings {
            options.push_str(&format!(" -c {s}"));
        }
        run(
            as_owner(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.dir.join("server.log"))
                .args(["-w", "-t", "60", "-o", &options, "start"]),
            "pg_ctl start",
        );
    }

    /// `pg_ctl stop -m fast`: clients are disconnected, the server goes away.
    pub fn stop(&self) {
        run(
            as_owner(&self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.data())
                .args(["-m", "fast", "-w", "stop"]),
            "pg_ctl stop",
        );
    }

    /// A URL for database `db` on `host` (`127.0.0.1` or `localhost`).
    pub fn url(&self, host: &str, db: &str) -> String {
        format!("postgres://lrt@{host}:{}/{db}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_owner(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh database in the test server, dropped at the end. Its own queries run on a thread of
/// their own (the synchronous client must not run inside the serve test's runtime).
pub struct Database {
    admin_url: String,
    name: String,
    pub url: String,
}

fn apart<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

impl Database {
    pub fn new(test: &str) -> Option<Database> {
        let admin_url = super::external::component("LRT_TEST_DATABASE_URL", test)?;
        let name = format!("lrt_cli_{}", uuid::Uuid::new_v4().simple());
        apart(|| {
            let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).expect("connect to the test server");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        });
        let base = admin_url.rsplit_once('/').expect("a URL with a database").0;
        let url = format!("{base}/{name}");
        Some(Database { admin_url, name, url })
    }

    pub fn execute(&self, sql: &str) {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        })
    }

    /// [`end_lock_sessions`] in this database.
    pub fn end_lock_sessions(&self, tenant: uuid::Uuid, kb: uuid::Uuid) -> usize {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            end_lock_sessions(&mut c, tenant, kb)
        })
    }

    /// The one TEXT a query returns.
    pub fn text(&self, sql: &str) -> String {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            c.query_one(sql, &[]).unwrap().get(0)
        })
    }

    /// The one BIGINT a query returns.
    pub fn scalar(&self, sql: &str) -> i64 {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            c.query_one(sql, &[]).unwrap().get(0)
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        apart(|| {
            if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        })
    }
}
