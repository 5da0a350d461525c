//! Outside components some tests need (a PostgreSQL server, a Python with client libraries, a
//! browser). `.ci/run` installs or starts them (`.ci/steps/`) and says where they are in
//! `LRT_TEST_*` variables. A plain `cargo test` without them prints SKIPPED for those tests;
//! under `.ci/run` (`LRT_CI=1`) a missing component fails the test, so a broken install step
//! cannot pass unnoticed.

/// The value of the variable `var` naming an outside component, or `None` (after printing why)
/// when it is not set outside CI. Panics when it is missing under CI.
pub fn component(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Some(value),
        _ if std::env::var_os("LRT_CI").is_some() => {
            panic!("{test}: {var} is not set; .ci/run should have installed the component")
        }
        _ => {
            println!("{test}: SKIPPED, {var} is not set (see .ci/steps/README.md)");
            None
        }
    }
}
