//! KB stores on every backend, for the KB-store conformance tests: SQLite in a temporary
//! folder, and PostgreSQL when `LRT_TEST_DATABASE_URL` names a server, each fixture in a
//! schema of its own (so tests run in parallel and never see each other's rows).

use lrt::catalog::Catalog;
use lrt::catalog::pg::PgCatalog;
use lrt::config::PgSettings;
use lrt::layout::Layout;
use lrt::store::{KbLocation, KbStore};
use uuid::Uuid;

/// One backend's KB store for one test. `open` gives another handle on the same KB (another
/// connection, as another process would have).
pub struct KbFixture {
    pub name: &'static str,
    dir: tempfile::TempDir,
    catalog: Catalog,
    pub tenant: Uuid,
    pub kb: Uuid,
    pg: Option<(String, String)>,
}

impl KbFixture {
    /// Where this fixture's KB lives.
    pub fn location(&self) -> KbLocation {
        self.location_of(self.tenant, self.kb)
    }

    /// Another KB on the same backend (another tenant's, say).
    pub fn location_of(&self, tenant: Uuid, kb: Uuid) -> KbLocation {
        let dir = self
            .dir
            .path()
            .join("kbs")
            .join(tenant.to_string())
            .join(kb.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        self.catalog.kb_location(tenant, kb, dir)
    }

    pub fn open(&self) -> KbStore {
        KbStore::open(&self.location()).unwrap()
    }

    /// The catalog on the same database (PostgreSQL) or data directory (SQLite).
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A plain client on this fixture's PostgreSQL schema (`None` on SQLite), for tests that
    /// write rows with SQL.
    pub fn pg_client(&self) -> Option<::postgres::Client> {
        let (url, schema) = self.pg.as_ref()?;
        let mut config: ::postgres::Config = url.parse().unwrap();
        config.options(&format!("-c search_path={schema}"));
        Some(
            config
                .connect(::postgres::NoTls)
                .expect("connect to the fixture's schema"),
        )
    }
}

impl Drop for KbFixture {
    fn drop(&mut self) {
        if let Some((url, schema)) = &self.pg
            && let Ok(mut admin) = ::postgres::Client::connect(url, ::postgres::NoTls)
        {
            let _ = admin.batch_execute(&format!(
                "SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schema} CASCADE"
            ));
        }
    }
}

fn sqlite() -> KbFixture {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::Sqlite(lrt::catalog::SqliteCatalog::open(Layout::new(dir.path().join("data"))).unwrap());
    KbFixture {
        name: "sqlite",
        dir,
        catalog,
        tenant: Uuid::new_v4(),
        kb: Uuid::new_v4(),
        pg: None,
    }
}

/// A fresh schema in the test server (migrated by opening a catalog on it).
fn postgres(test: &str) -> Option<KbFixture> {
    let url = super::external::component("LRT_TEST_DATABASE_URL", test)?;
    let schema = format!("lrt_k_{}", Uuid::new_v4().simple());
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect to LRT_TEST_DATABASE_URL");
    admin.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
    let mut config: ::postgres::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    let settings = PgSettings::new(config, 4);
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::Postgres(Box::new(
        PgCatalog::open(&settings, Layout::new(dir.path().join("data"))).unwrap(),
    ));
    Some(KbFixture {
        name: "postgres",
        dir,
        catalog,
        tenant: Uuid::new_v4(),
        kb: Uuid::new_v4(),
        pg: Some((url, schema)),
    })
}

/// SQLite always; PostgreSQL too when the test server is there (SKIPPED otherwise, a failure
/// under `.ci/run`).
pub fn backends(test: &str) -> Vec<KbFixture> {
    let mut all = vec![sqlite()];
    all.extend(postgres(test));
    all
}
