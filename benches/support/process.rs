//! Running the built `lrt` binary on a benchmark's data directory, and percentiles.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs `lrt ARGS` as root on `dir/config.toml` and `dir/data` (plus `env`); asserts success
/// and returns the wall time in seconds and the stdout.
pub fn lrt(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (f64, Vec<u8>) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_lrt"))
        .args(args)
        .envs(env.iter().copied())
        .env("LRT_CONFIG", dir.join("config.toml"))
        .env("LRT_DATA_DIR", dir.join("data"))
        .env("LRT_USER", "root")
        .env_remove("LRT_OUTPUT")
        .stdin(Stdio::null())
        .output()
        .expect("run lrt");
    let wall = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "lrt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, out.stdout)
}

/// `p`-th percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
