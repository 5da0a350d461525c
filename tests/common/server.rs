//! A running `lrt serve` for the HTTP tests: the real binary on 127.0.0.1 with a free port,
//! tokens minted with `lrt token issue`, and JSON requests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Lrt, ROOT};

pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// A running `lrt serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub http: reqwest::Client,
    /// The server's stderr: its log.
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn(lrt: &Lrt, env: &[(&str, &str)], extra: &[&str]) -> Result<Server, String> {
    let mut args = vec!["serve", "--bind", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut cmd = lrt.process(ROOT, &args);
    cmd.env("TOKEN_SECRET", SECRET)
        .env("LIGHTRAG_MULTI_TENANT_STRICT", "false");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // The log goes to a file: a pipe nobody reads would stall the server once full.
    let log = lrt
        .root()
        .join(format!("serve-{}.log", SERVERS.fetch_add(1, Ordering::Relaxed)));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = cmd.stderr(file).spawn().expect("spawn lrt serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(addr) = line.trim().strip_prefix("listening on ") else {
        let status = child.wait().unwrap();
        return Err(format!(
            "exit {:?}: {}",
            status.code(),
            std::fs::read_to_string(&log).unwrap()
        ));
    };
    Ok(Server {
        base: addr.to_string(),
        child,
        http: reqwest::Client::new(),
        log,
    })
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

pub fn start(lrt: &Lrt, env: &[(&str, &str)]) -> Server {
    spawn(lrt, env, &[]).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"))
}

/// Sends SIGTERM and waits for the server to exit (panicking after `within`); its exit code.
pub fn terminate(srv: &mut Server, within: std::time::Duration) -> Option<i32> {
    let signalled = std::time::Instant::now();
    assert_eq!(unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) }, 0);
    loop {
        if let Some(status) = srv.child.try_wait().unwrap() {
            return status.code();
        }
        assert!(
            signalled.elapsed() < within,
            "lrt serve did not stop on SIGTERM within {within:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// An answer: status, headers and JSON body.
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Server {
    /// The server process's id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Resp { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, Some(&format!("Bearer {token}")), &[], None)
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.send(Method::DELETE, path, Some(&format!("Bearer {token}")), &[], None)
            .await
    }

    /// A request from outside the tenant: 404, and nothing in the body that names the tenant
    /// (`name`) or holds its data (`CANARY…`).
    pub async fn assert_foreign(&self, token: &str, method: Method, path: &str, body: Option<Value>, name: &str) {
        let r = self
            .send(method.clone(), path, Some(&format!("Bearer {token}")), &[], body)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}: {}", r.body);
        let text = r.body.to_string();
        assert!(
            !text.contains(name) && !text.contains("CANARY"),
            "{method} {path} leaks: {text}"
        );
    }

    /// A request authenticated by an API key.
    pub async fn keyed(&self, method: Method, path: &str, key: &str, body: Option<Value>) -> Resp {
        self.send(method, path, None, &[("X-API-Key", key)], body).await
    }

    /// What the server has logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(&format!("Bearer {token}")), &[], Some(body))
            .await
    }
}

pub fn token(lrt: &Lrt, user: &str) -> String {
    let run = lrt.run(
        Some(ROOT),
        &[("TOKEN_SECRET", SECRET)],
        &["token", "issue", "--user", user],
    );
    assert!(run.ok(), "{}", run.stderr);
    run.stdout.trim().to_string()
}
