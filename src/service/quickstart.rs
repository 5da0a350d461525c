//! `lrt quickstart`: the whole product in one idempotent command. It sets up a demo tenant
//! and KB, ingests the sample documents compiled into the binary (so an installed `lrt` works
//! anywhere, offline with the default `local` provider) and answers a sample question in
//! `mix` mode with references.

use serde::Serialize;

use super::{ContextView, NewKb, NewTenant, QueryInput, Service};
use crate::authz::{Actor, Role};
use crate::error::{Error, Result};
use crate::model::{KnowledgeBase, Member, Tenant};
use crate::rag::engine::{IngestReport, NewDocument};
use crate::rag::query::{QueryMode, QueryParams, Reference};

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_KB: &str = "docs";
pub const DEMO_VIEWER: &str = "demo-viewer";

/// The sample question; the sample documents answer it in one sentence of `products.md`.
pub const SAMPLE_QUESTION: &str = "Where is the TideRunner T2 assembled?";

/// The sample documents (`examples/docs/`), as (file path, content). Embedded, so quickstart
/// needs no files next to the binary.
pub const SAMPLE_DOCS: [(&str, &str); 5] = [
    (
        "examples/docs/company.md",
        include_str!("../../examples/docs/company.md"),
    ),
    ("examples/docs/people.md", include_str!("../../examples/docs/people.md")),
    (
        "examples/docs/products.md",
        include_str!("../../examples/docs/products.md"),
    ),
    ("examples/docs/sites.md", include_str!("../../examples/docs/sites.md")),
    (
        "examples/docs/history.md",
        include_str!("../../examples/docs/history.md"),
    ),
];

/// What quickstart set up (or found already set up), ingested and answered.
#[derive(Debug, Clone, Serialize)]
pub struct Quickstart {
    /// Whether the tenant, KB or viewer member had to be created on this run.
    pub created: bool,
    pub tenant: Tenant,
    pub kb: KnowledgeBase,
    pub members: Vec<Member>,
    pub context: ContextView,
    /// The sample documents' ingest (all duplicates on a second run).
    pub ingest: IngestReport,
    pub question: String,
    pub mode: QueryMode,
    pub answer: String,
    pub references: Vec<Reference>,
}

impl Service {
    /// Creates (or reuses) the demo tenant, its `docs` KB, the actor as admin and a viewer
    /// member, makes them the actor's current context, ingests the sample documents and
    /// answers the sample question. Costs one ingest and one query API call.
    pub async fn quickstart(&mut self, actor: &Actor) -> Result<Quickstart> {
        let created = self.quickstart_setup(actor)?;
        let context = self.use_context(actor, DEMO_TENANT, Some(DEMO_KB))?;
        let tenant = Some(DEMO_TENANT);

        let job = self.start_ingest(actor, tenant, Some(DEMO_KB), SAMPLE_DOCS.len() as u64, || {})?;
        let docs = SAMPLE_DOCS
            .iter()
            .map(|(file_path, content)| NewDocument {
                file_path: file_path.to_string(),
                content: content.to_string(),
                pages: Vec::new(),
            })
            .collect();
        let ingest = self
            .run_ingest(job, docs, true, std::future::pending::<Error>())
            .await?;
        if let Some(bad) = ingest.documents.iter().find(|d| d.error.is_some()) {
            return Err(Error::Upstream(format!(
                "{} sample document(s) failed, e.g. {}: {}; check the model settings (`lrt config show`)",
                ingest.failed,
                bad.file_path,
                bad.error.clone().unwrap_or_default()
            )));
        }

        let input = QueryInput {
            params: QueryParams::new(SAMPLE_QUESTION, QueryMode::Mix),
            top_k: None,
            chunk_top_k: None,
            no_cache: false,
        };
        let (_, result) = self.query(actor, tenant, Some(DEMO_KB), input, None).await?;
        Ok(Quickstart {
            created,
            tenant: self.show_tenant(actor, tenant)?,
            kb: self.show_kb(actor, tenant, Some(DEMO_KB))?,
            members: self.list_members(actor, tenant)?,
            context,
            ingest,
            question: SAMPLE_QUESTION.to_string(),
            mode: result.mode,
            answer: result.answer.unwrap_or_default(),
            references: result.references,
        })
    }

    /// The demo tenant, KB and viewer member; returns whether anything was created.
    fn quickstart_setup(&mut self, actor: &Actor) -> Result<bool> {
        let mut created = false;
        if self.catalog.tenant_by_name(DEMO_TENANT)?.is_none() {
            let new = NewTenant {
                name: DEMO_TENANT.into(),
                description: Some("Demo tenant created by `lrt quickstart`".into()),
                admin: Some(actor.user.clone()),
                ..Default::default()
            };
            self.create_tenant(actor, new)?;
            created = true;
        }
        let tenant = Some(DEMO_TENANT);
        if !self
            .list_kbs(actor, tenant)?
            .iter()
            .any(|k| k.kb_name.eq_ignore_ascii_case(DEMO_KB))
        {
            let new = NewKb {
                name: DEMO_KB.into(),
                description: Some("Demo knowledge base: the sample documents of `lrt quickstart`".into()),
                set: vec![],
            };
            self.create_kb(actor, tenant, new)?;
            created = true;
        }
        if !self
            .list_members(actor, tenant)?
            .iter()
            .any(|m| m.user_id == DEMO_VIEWER)
        {
            self.add_member(actor, tenant, DEMO_VIEWER, Role::Viewer)?;
            created = true;
        }
        Ok(created)
    }
}
