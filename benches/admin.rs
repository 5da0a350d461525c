//! Administration-plane benchmark: fills a catalog with 10,000 tenants, then times real
//! `lrt` invocations (process start to exit, as a user or script sees them).
//!
//! Run: `cargo bench --bench admin` (optionally `-- --tenants N --runs N`).
//! Target (issue 2): `lrt tenant list --json` and `lrt kb create` each under 20 ms.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lrt::authz::Actor;
use lrt::config::{Overrides, ProcessEnv, Settings};
use lrt::service::{NewTenant, Service};

struct Args {
    tenants: usize,
    runs: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        tenants: 10_000,
        runs: 30,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tenants" => args.tenants = it.next().and_then(|v| v.parse().ok()).expect("--tenants N"),
            "--runs" => args.runs = it.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn lrt(dir: &Path, user: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lrt"))
        .args(args)
        .env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", user)
        .env_remove("LRT_OUTPUT")
        .output()
        .expect("run lrt");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "lrt {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = samples.len();
    println!(
        "{name:<48} n={n:<3} min {:>6.2} ms  median {:>6.2} ms  p95 {:>6.2} ms  max {:>6.2} ms",
        ms(samples[0]),
        ms(samples[n / 2]),
        ms(samples[(n * 95 / 100).min(n - 1)]),
        ms(samples[n - 1])
    );
}

fn main() {
    let args = parse_args();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    std::fs::write(
        dir.join("config.toml"),
        "[identity]\nuser = \"root\"\n[multi_tenancy]\nenabled = true\nsuper_admins = [\"root\"]\n",
    )
    .unwrap();

    // Fill the catalog through the library (the same service the CLI calls).
    let flags = Overrides {
        config: Some(dir.join("config.toml")),
        data_dir: Some(dir.join("data")),
    };
    let mut svc = Service::open(Settings::load(&flags, &ProcessEnv).unwrap()).unwrap();
    let root = Actor::user("root", true);
    let start = Instant::now();
    for i in 0..args.tenants {
        let admin = (i % 100 == 0).then(|| "alice".to_string());
        let new = NewTenant {
            name: format!("tenant-{i:05}"),
            admin,
            ..Default::default()
        };
        svc.create_tenant(&root, new).unwrap();
    }
    let fill = start.elapsed();
    println!(
        "filled {} tenants in {:.2} s ({:.0} µs per tenant create, in-process)",
        args.tenants,
        fill.as_secs_f64(),
        fill.as_secs_f64() * 1e6 / args.tenants as f64
    );
    drop(svc);

    // Warm the page cache once.
    lrt(dir, "root", &["tenant", "list", "--json"]);
    let runs = args.runs;
    summary(
        "lrt tenant list --json (super-admin, page of 20)",
        (0..runs)
            .map(|_| lrt(dir, "root", &["tenant", "list", "--json"]))
            .collect(),
    );
    summary(
        "lrt tenant list --json --page-size 1000",
        (0..runs)
            .map(|_| lrt(dir, "root", &["tenant", "list", "--json", "--page-size", "1000"]))
            .collect(),
    );
    summary(
        "lrt tenant list --json --page 400 (deep page)",
        (0..runs)
            .map(|_| lrt(dir, "root", &["tenant", "list", "--json", "--page", "400"]))
            .collect(),
    );
    summary(
        "lrt tenant list --json (member of 1% of tenants)",
        (0..runs)
            .map(|_| lrt(dir, "alice", &["tenant", "list", "--json"]))
            .collect(),
    );
    summary(
        "lrt kb create --tenant NAME KB -q",
        (0..runs)
            .map(|i| {
                let tenant = format!("tenant-{:05}", (i * 7919) % args.tenants);
                lrt(
                    dir,
                    "root",
                    &["kb", "create", "--tenant", &tenant, &format!("kb-{i}"), "-q"],
                )
            })
            .collect(),
    );
    summary(
        "lrt kb create (tenant admin, by name)",
        (0..runs)
            .map(|i| {
                let tenant = format!("tenant-{:05}", (i % (args.tenants / 100).max(1)) * 100);
                lrt(
                    dir,
                    "alice",
                    &["kb", "create", "--tenant", &tenant, &format!("alice-kb-{i}"), "-q"],
                )
            })
            .collect(),
    );
    summary(
        "lrt --version (process start floor)",
        (0..runs).map(|_| lrt(dir, "root", &["--version"])).collect(),
    );
}
