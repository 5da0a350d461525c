//! Which storage backend the harness's installations use. Plain `cargo test` keeps everything
//! in SQLite files; `LRT_TEST_BACKEND=postgres` (the second pass of `.ci/run`, see
//! `.ci/postgres-pass`) gives every [`super::Lrt`] a fresh database of its own in the server
//! `LRT_TEST_DATABASE_URL` names and sets `[storage]` in its config.toml, so the catalog and
//! every KB live there for the CLI and `lrt serve` alike.

use super::pg_cluster::Database;

/// The variable that selects the backend (`sqlite`, the default, or `postgres`).
pub const VAR: &str = "LRT_TEST_BACKEND";

/// Whether this run keeps installations in PostgreSQL.
pub fn postgres() -> bool {
    match std::env::var(VAR).as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => false,
        Ok("postgres") => true,
        Ok(other) => panic!("{VAR}={other:?}: expected sqlite or postgres"),
    }
}

/// A database for one installation in the postgres pass. A missing server is an error here, not
/// a skip: the run asked for PostgreSQL, and falling back to SQLite would pass unnoticed.
pub fn database(test: &str) -> Database {
    if !std::env::var("LRT_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        panic!("{test}: {VAR}=postgres needs LRT_TEST_DATABASE_URL (.ci/steps/10-postgres.sh)");
    }
    Database::new(test).expect("a database in the test server")
}

/// `config` (as `lrt init` writes it) with the catalog and the KBs in `url`.
pub fn postgres_config(config: &str, url: &str) -> String {
    let line = "# backend = \"postgres\"";
    assert!(
        config.contains(line),
        "the config file has no [storage] backend line to set:\n{config}"
    );
    config.replacen(line, &format!("backend = \"postgres\"\ndatabase_url = \"{url}\""), 1)
}
