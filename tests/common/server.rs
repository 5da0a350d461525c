//! A real `lrt serve` on 127.0.0.1 with a free port, for the HTTP tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{Lrt, ROOT};

pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// A running `lrt serve`, killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
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
    let mut child = cmd.stderr(Stdio::piped()).spawn().expect("spawn lrt serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let Some(addr) = line.trim().strip_prefix("listening on ") else {
        let out = child.wait_with_output().unwrap();
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    };
    // Keep reading the server's log so a chatty server never blocks on a full pipe.
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    }
    Ok(Server {
        base: addr.to_string(),
        child,
        http: reqwest::Client::new(),
    })
}

pub fn start(lrt: &Lrt, env: &[(&str, &str)]) -> Server {
    spawn(lrt, env, &[]).unwrap_or_else(|e| panic!("lrt serve did not start: {e}"))
}

/// An answer: status and JSON body.
pub struct Resp {
    pub status: StatusCode,
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
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        Resp { status, body }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.send(Method::GET, path, Some(&format!("Bearer {token}")), &[], None)
            .await
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
