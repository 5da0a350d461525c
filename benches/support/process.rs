//! Running the built `lrt` binary on a benchmark's data directory, and percentiles.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs `lrt ARGS` as root on `dir/config.toml` and `dir/data` (plus `env`); asserts success
/// and returns the wall time in seconds and the stdout.
pub fn lrt(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (f64, Vec<u8>) {
    let (wall, _, stdout) = lrt_timed(dir, env, args);
    (wall, stdout)
}

/// User + system CPU time of the waited-for child processes so far.
fn children_cpu() -> f64 {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes to it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// [`lrt`], also returning the process's CPU time (user + system) in seconds: a busy machine
/// inflates wall time much more than CPU time.
pub fn lrt_timed(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> (f64, f64, Vec<u8>) {
    let cpu = children_cpu();
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
    let cpu = children_cpu() - cpu;
    assert!(
        out.status.success(),
        "lrt {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, cpu, out.stdout)
}

/// `p`-th percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
