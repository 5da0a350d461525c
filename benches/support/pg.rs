//! A throwaway database for the benchmarks that also measure PostgreSQL (`--pg URL`).

/// A new, empty database `name` (dropped first if there) in the PostgreSQL server `url`
/// names; its URL.
pub fn fresh_database(url: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("connect to --pg URL");
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {name}")))
        .expect("create the benchmark database");
    database_url(url, name)
}

/// The URL of database `name` in the server `url` names.
#[allow(dead_code)] // the ingest benchmark always starts afresh
pub fn database_url(url: &str, name: &str) -> String {
    let base = url.rsplit_once('/').expect("a URL with a database").0;
    format!("{base}/{name}")
}
