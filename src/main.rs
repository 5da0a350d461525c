//! The `lrt` binary: everything is in the library; this only tunes the allocator and sets the
//! exit code.

fn main() {
    limit_malloc_arenas();
    let code = lrt::cli::run(std::env::args_os().collect());
    std::process::exit(code);
}

/// glibc gives each thread that allocates its own arena and keeps freed memory in it; with the
/// tokio workers, blocking threads and usearch's threads of an ingest that held ~15% of peak
/// memory (measured 138 → 124 MB on the 2 MB ingest benchmark). Two arenas cost no measurable
/// speed. An explicit `MALLOC_ARENA_MAX` in the environment still wins.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only adjusts allocator parameters; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
