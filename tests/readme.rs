//! The README's REST examples work as written: the ```sh blocks whose first line is
//! `# tested: …` are run in order, as one bash script (`set -euo pipefail`, so a failed
//! `curl -f` fails the test), against a real `lrt serve` with the setup of "Everyday use"
//! (tenant `acme` with admin alice, KB `docs`). The only change made to the text is the port:
//! the server binds a free one (`LRT_BIND`) and `127.0.0.1:9621` is replaced by it.

mod common;

use std::os::unix::process::CommandExt;

use common::{Lrt, ROOT};

/// The tested blocks of README.md, in order.
fn tested_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut rest = readme;
    while let Some(start) = rest.find("```sh\n# tested:") {
        let body = &rest[start + "```sh\n".len()..];
        let end = body.find("\n```").expect("an unterminated code block");
        blocks.push(body[..end].to_string());
        rest = &body[end..];
    }
    blocks
}

#[test]
fn the_readme_rest_examples_work_against_a_real_server() {
    for tool in ["curl", "openssl", "jq", "bash"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .unwrap();
        assert!(found.status.success(), "the README examples need {tool}");
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let blocks = tested_blocks(&readme);
    assert!(
        blocks.len() >= 3,
        "expected the tested REST blocks, found {}",
        blocks.len()
    );
    let script = blocks.join("\n");
    assert!(script.contains("X-Tenant-ID") && script.contains("Content-Type: application/json"));

    let lrt = Lrt::new();
    lrt.tenant("acme", Some("alice"));
    lrt.kb("acme", "docs");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = format!(
        "set -euo pipefail\n{}\n",
        script.replace("127.0.0.1:9621", &format!("127.0.0.1:{port}"))
    );
    let bin_dir = std::path::Path::new(common::BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let home = lrt.root().join("home");
    let child = std::process::Command::new("bash")
        .args(["-c", &script])
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("TERM", "dumb")
        .env("LRT_CONFIG", lrt.config_path())
        .env("LRT_DATA_DIR", lrt.data_dir())
        .env("LRT_USER", ROOT)
        .env("LRT_BIND", format!("127.0.0.1:{port}"))
        .current_dir(&home)
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The script and the server it starts are one process group: stopped together when the
    // script is done or after two minutes, whatever happened.
    let group = child.id() as i32;
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let _ = finished.recv_timeout(std::time::Duration::from_secs(120));
        unsafe { libc::kill(-group, libc::SIGKILL) };
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the README script failed:\n{stdout}\n{stderr}");
    // Each call answered with JSON: two answers, the upload's 202 and the status.
    assert_eq!(stdout.matches("{\"answer\":").count(), 2, "{stdout}");
    assert!(stdout.contains("\"pending\""), "{stdout}");
    assert!(stdout.contains("dashboards"), "the key list: {stdout}");
}
