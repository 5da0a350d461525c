//! The `lrt` binary: everything is in the library; this only sets the exit code.

fn main() {
    let code = lrt::cli::run(std::env::args_os().collect());
    std::process::exit(code);
}
