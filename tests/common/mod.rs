//! The shared harness: a temporary `lrt` installation (config file and data directory made by
//! the real `lrt init`) and helpers that run the real binary in it as a given user.
//!
//! Every run starts from a scrubbed environment, so the host's LRT_*, LIGHTRAG_*, TOKEN_*,
//! ENABLE_MULTI_TENANTS, LLM_*/EMBEDDING_*/RERANK_* settings can never leak into a test.

#![allow(dead_code)] // each test file uses a different subset

pub mod backend;
pub mod external;
pub mod kbcheck;
pub mod kbseed;
pub mod kbsql;
pub mod kbstore;
pub mod model;
pub mod pg_cluster;
pub mod server;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub const ROOT: &str = "root";
pub const BIN: &str = env!("CARGO_BIN_EXE_lrt");

/// Environment variables that are removed from every run (prefixes, or exact names).
const SCRUBBED: &[&str] = &[
    "LRT_",
    "LIGHTRAG_",
    "TOKEN_",
    "ENABLE_MULTI_TENANTS",
    "JWT_",
    "LLM_",
    "EMBEDDING_",
    "OPENAI_",
    "MAX_ASYNC",
    "XDG_",
    "RERANK_",
    "MIN_RERANK_SCORE",
    "POSTGRES_",
    "DOCLING_",
];

fn scrubbed_vars() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| SCRUBBED.iter().any(|p| k.starts_with(p)))
        .collect()
}

/// The result of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// The stdout parsed as exactly one JSON document.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// The stderr parsed as a JSON error document.
    pub fn json_error(&self) -> Value {
        serde_json::from_str(self.stderr.trim())
            .unwrap_or_else(|e| panic!("stderr is not one JSON document ({e}):\n{}", self.stderr))
    }
}

/// A temporary lrt installation: `<tmp>/config.toml` and `<tmp>/data`, and in the postgres
/// pass (`LRT_TEST_BACKEND=postgres`, [`backend`]) a database of its own, dropped with it.
pub struct Lrt {
    dir: tempfile::TempDir,
    db: Option<pg_cluster::Database>,
}

impl Lrt {
    /// `lrt init --user root --super-admins root --multi-tenant`.
    pub fn new() -> Lrt {
        Lrt::with_init(&["--multi-tenant"])
    }

    /// `lrt init --user root --super-admins root EXTRA…`, on the pass's backend.
    pub fn with_init(extra: &[&str]) -> Lrt {
        let db = backend::postgres().then(|| backend::database("Lrt::with_init"));
        Lrt::init_on(extra, db)
    }

    /// `lrt init --multi-tenant` with the catalog and the KBs in `db`, whatever the pass.
    pub fn on_postgres(db: pg_cluster::Database) -> Lrt {
        Lrt::init_on(&["--multi-tenant"], Some(db))
    }

    fn init_on(extra: &[&str], db: Option<pg_cluster::Database>) -> Lrt {
        let mut lrt = Lrt {
            dir: tempfile::tempdir().expect("temp dir"),
            db: None,
        };
        std::fs::create_dir(lrt.dir.path().join("home")).unwrap();
        let mut args = vec!["init", "--user", ROOT, "--super-admins", ROOT];
        args.extend_from_slice(extra);
        let run = lrt.run(None, &[], &args);
        assert_eq!(run.code, 0, "lrt init failed: {}", run.stderr);
        if let Some(db) = db {
            let config = std::fs::read_to_string(lrt.config_path()).unwrap();
            std::fs::write(lrt.config_path(), backend::postgres_config(&config, &db.url)).unwrap();
            lrt.db = Some(db);
        }
        lrt
    }

    /// The installation's database, when it keeps its data in PostgreSQL.
    pub fn database(&self) -> Option<&pg_cluster::Database> {
        self.db.as_ref()
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `<data>/tenants/<tenant>` and `<data>/tenants/<tenant>/kbs/<kb>`.
    pub fn tenant_dir(&self, tenant_id: &str) -> PathBuf {
        self.data_dir().join("tenants").join(tenant_id)
    }

    pub fn kb_dir(&self, tenant_id: &str, kb_id: &str) -> PathBuf {
        self.tenant_dir(tenant_id).join("kbs").join(kb_id)
    }

    /// An `assert_cmd` command for the real binary in this installation (no LRT_USER: the
    /// config file's `identity.user`, root, applies).
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("lrt").expect("the lrt binary");
        for var in scrubbed_vars() {
            cmd.env_remove(var);
        }
        cmd.env("LRT_CONFIG", self.config_path())
            .env("LRT_DATA_DIR", self.data_dir())
            .env("HOME", self.dir.path().join("home"))
            .env("TERM", "dumb")
            .current_dir(self.dir.path().join("home"));
        cmd
    }

    /// The same, as a plain `std::process::Command` (for spawning many processes at once).
    pub fn process<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> std::process::Command {
        let mut cmd = std::process::Command::new(BIN);
        for var in scrubbed_vars() {
            cmd.env_remove(var);
        }
        cmd.env("LRT_CONFIG", self.config_path())
            .env("LRT_DATA_DIR", self.data_dir())
            .env("HOME", self.dir.path().join("home"))
            .env("LRT_USER", user)
            .current_dir(self.dir.path().join("home"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    /// Runs `lrt ARGS` as `user` (LRT_USER) with extra environment variables.
    pub fn run<S: AsRef<OsStr>>(&self, user: Option<&str>, env: &[(&str, &str)], args: &[S]) -> Run {
        let mut cmd = self.cmd();
        if let Some(user) = user {
            cmd.env("LRT_USER", user);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().expect("run lrt");
        Run {
            code: out.status.code().expect("lrt exited by a signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    pub fn run_as<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> Run {
        self.run(Some(user), &[], args)
    }

    /// Exit code of `lrt ARGS` run as `user`.
    pub fn code_as<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> i32 {
        self.run_as(user, args).code
    }

    /// Stderr of `lrt ARGS` run as `user`.
    pub fn stderr_as<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> String {
        self.run_as(user, args).stderr
    }

    /// `lrt ARGS --json` as `user`; asserts success and returns the parsed stdout.
    pub fn json_as<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> Value {
        let mut all: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
        all.push(OsStr::new("--json"));
        let run = self.run_as(user, &all);
        assert_eq!(run.code, 0, "lrt {all:?} as {user} failed: {}", run.stderr);
        run.json()
    }

    /// `lrt ARGS -q` as `user`; asserts success and returns the single id printed.
    pub fn id_as<S: AsRef<OsStr>>(&self, user: &str, args: &[S]) -> String {
        let mut all: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
        all.push(OsStr::new("-q"));
        let run = self.run_as(user, &all);
        assert_eq!(run.code, 0, "lrt {all:?} as {user} failed: {}", run.stderr);
        let id = run.stdout.trim().to_string();
        assert!(
            !id.is_empty() && !id.contains('\n'),
            "expected one id, got {:?}",
            run.stdout
        );
        id
    }

    /// `lrt tenant create NAME [--admin ADMIN]` as root; returns the tenant id.
    pub fn tenant(&self, name: &str, admin: Option<&str>) -> String {
        let mut args = vec!["tenant", "create", name];
        if let Some(a) = admin {
            args.extend(["--admin", a]);
        }
        self.id_as(ROOT, &args)
    }

    /// `lrt kb create --tenant TENANT NAME` as root; returns the KB id.
    pub fn kb(&self, tenant: &str, name: &str) -> String {
        self.id_as(ROOT, &["kb", "create", "--tenant", tenant, name])
    }

    /// `lrt member add --tenant TENANT USER --role ROLE` as root.
    pub fn member(&self, tenant: &str, user: &str, role: &str) {
        let run = self.run_as(ROOT, &["member", "add", "--tenant", tenant, user, "--role", role]);
        assert_eq!(run.code, 0, "member add {user} failed: {}", run.stderr);
    }

    /// Every audit entry, newest first (as root), page after page.
    pub fn audit(&self) -> Vec<Value> {
        let mut all = Vec::new();
        for page in 1.. {
            let page = page.to_string();
            match self.json_as(ROOT, &["audit", "list", "--page", &page, "--page-size", "1000"]) {
                Value::Array(entries) => {
                    let last = entries.len() < 1000;
                    all.extend(entries);
                    if last {
                        return all;
                    }
                }
                other => panic!("audit list is not an array: {other}"),
            }
        }
        unreachable!("the pages end")
    }

    /// Every path below the data directory, relative, sorted (catalog files excluded).
    pub fn tree(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                if rel.starts_with("catalog.db") {
                    continue;
                }
                out.push(rel);
                if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(base, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data_dir(), &self.data_dir(), &mut out);
        out.sort();
        out
    }

    /// What the catalog holds (every tenant, its KBs and members, as root) plus the folder
    /// tree: used to check that a refused command changed nothing. The audit log is not part
    /// of it, as refusals are audited.
    pub fn snapshot(&self) -> Value {
        let tenants = self.json_as(ROOT, &["tenant", "list", "--page-size", "1000"]);
        let mut per_tenant = Vec::new();
        for t in tenants.as_array().unwrap() {
            let id = t["tenant_id"].as_str().unwrap();
            let active = t["is_active"].as_bool().unwrap();
            // A deactivated tenant refuses kb/member listings, even to root.
            let (kbs, members) = if active {
                (
                    self.json_as(ROOT, &["kb", "list", "--tenant", id]),
                    self.json_as(ROOT, &["member", "list", "--tenant", id]),
                )
            } else {
                (Value::Null, Value::Null)
            };
            per_tenant.push(json!({"tenant": t, "kbs": kbs, "members": members}));
        }
        json!({"tenants": per_tenant, "tree": self.tree()})
    }
}

/// Whether `s` looks like a hyphenated UUID.
/// A string field of a JSON object (panics, showing the object, when it is missing).
pub fn field(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_string()
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether `s` is an RFC 3339 UTC timestamp with millisecond precision (2026-11-26T19:44:46.327Z).
pub fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit())
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// Sorted owned strings, to compare with `keys`.
pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Unix permission bits of a path.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
