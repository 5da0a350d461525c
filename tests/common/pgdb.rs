//! A database of its own per test in the PostgreSQL server `LRT_TEST_DATABASE_URL` names
//! (`.ci/steps/10-postgres.sh`), for tests that run the real binary on PostgreSQL.

/// A fresh database in the test server, dropped at the end. Its own queries run on a thread of
/// their own (the synchronous client must not run inside the serve test's runtime).
pub struct Database {
    admin_url: String,
    name: String,
    pub url: String,
}

pub fn apart<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| s.spawn(f).join().unwrap())
}

impl Database {
    pub fn new(test: &str) -> Option<Database> {
        let admin_url = super::external::component("LRT_TEST_DATABASE_URL", test)?;
        let name = format!("lrt_cli_{}", uuid::Uuid::new_v4().simple());
        apart(|| {
            let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).expect("connect to the test server");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        });
        let base = admin_url.rsplit_once('/').expect("a URL with a database").0;
        let url = format!("{base}/{name}");
        Some(Database { admin_url, name, url })
    }

    pub fn execute(&self, sql: &str) {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        })
    }

    /// The one BIGINT a query returns.
    pub fn scalar(&self, sql: &str) -> i64 {
        apart(|| {
            let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
            c.query_one(sql, &[]).unwrap().get(0)
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        apart(|| {
            if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            }
        })
    }
}
