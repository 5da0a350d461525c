//! `lrt graph entity|relation|merge`: curating a KB's graph by hand (needs document:update;
//! deletions document:delete). Each command calls `Service::edit_graph` once and renders its
//! report.

use clap::{Args, Subcommand};

use super::Ctx;
use super::confirm::{self, DryRun};
use super::doc::KbScope;
use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::rag::engine::{EditReport, EntityPatch, GraphOp, RelationPatch};
use crate::service::Service;

#[derive(Debug, Subcommand)]
pub enum EntityCmd {
    /// Create an entity by hand (needs document:update)
    #[command(
        after_help = "The name is normalized as extraction normalizes names. The entity is kept as a curated\nrow: deleting documents never removes or rewrites it.\n\nExamples:\n  lrt graph entity create \"Ada Lovelace\" --type person --description \"Mathematician, wrote the first program.\""
    )]
    Create(EntityCreateArgs),
    /// Change an entity's description or type (needs document:update)
    #[command(
        after_help = "The edit is kept as a curated override: a later document deletion that rebuilds the entity\nkeeps it, and descriptions extracted from documents ingested later are added after it.\n\nExamples:\n  lrt graph entity edit \"Marie Curie\" --type scientist\n  lrt graph entity edit Paris --description \"Capital of France.\" --json"
    )]
    Edit(EntityEditArgs),
    /// Rename an entity; its relations follow (needs document:update)
    #[command(
        after_help = "The old name becomes an alias: a document ingested later that mentions it lands on the new\nname. Renaming onto an existing entity is refused; use `lrt graph merge` for that.\n\nExamples:\n  lrt graph entity rename \"J. Smith\" \"John Smith\"\n  lrt graph entity rename Pariss Paris --dry-run"
    )]
    Rename(EntityRenameArgs),
    /// Delete an entity and its relations (needs document:delete)
    #[command(
        after_help = "Examples:\n  lrt graph entity delete \"Lorem Ipsum\" --dry-run\n  lrt graph entity delete \"Lorem Ipsum\" --yes"
    )]
    Delete(EntityDeleteArgs),
}

#[derive(Debug, Subcommand)]
pub enum RelationCmd {
    /// Create a relation between two existing entities (needs document:update)
    #[command(
        after_help = "Examples:\n  lrt graph relation create \"Marie Curie\" \"Pierre Curie\" --description \"Married in 1895.\" --keywords marriage"
    )]
    Create(RelationCreateArgs),
    /// Change a relation's description, keywords or weight (needs document:update)
    #[command(
        after_help = "Relations are undirected: SOURCE and TARGET may be given in either order. The edit is kept\nas a curated override, as for entities.\n\nExamples:\n  lrt graph relation edit \"Marie Curie\" Paris --weight 5\n  lrt graph relation edit Paris \"Marie Curie\" --keywords \"lived in,worked in\""
    )]
    Edit(RelationEditArgs),
    /// Delete a relation (needs document:delete)
    #[command(after_help = "Examples:\n  lrt graph relation delete \"Marie Curie\" Paris --yes")]
    Delete(RelationDeleteArgs),
}

#[derive(Debug, Args)]
pub struct EntityCreateArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Entity name
    pub name: String,
    /// What the entity is (required)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
    /// Entity type, e.g. person [default: UNKNOWN]
    #[arg(long = "type", value_name = "TYPE")]
    pub entity_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct EntityEditArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Entity name
    pub name: String,
    /// New description (replaces the whole description)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// New entity type
    #[arg(long = "type", value_name = "TYPE")]
    pub entity_type: Option<String>,
}

#[derive(Debug, Args)]
pub struct EntityRenameArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Current name
    pub name: String,
    /// New name
    pub new_name: String,
    /// Show what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct EntityDeleteArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Entity name
    pub name: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RelationCreateArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// One entity
    pub source: String,
    /// The other entity
    pub target: String,
    /// What links them (required)
    #[arg(long, value_name = "TEXT")]
    pub description: String,
    /// Comma-separated keywords
    #[arg(long, value_name = "LIST")]
    pub keywords: Option<String>,
    /// Weight, 0 or more [default: 1]
    #[arg(long)]
    pub weight: Option<f64>,
}

#[derive(Debug, Args)]
pub struct RelationEditArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// One entity
    pub source: String,
    /// The other entity
    pub target: String,
    /// New description (replaces the whole description)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// New comma-separated keywords (replace the old ones)
    #[arg(long, value_name = "LIST")]
    pub keywords: Option<String>,
    /// New weight (at least the number of chunks the relation was extracted from)
    #[arg(long)]
    pub weight: Option<f64>,
}

#[derive(Debug, Args)]
pub struct RelationDeleteArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// One entity
    pub source: String,
    /// The other entity
    pub target: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Entities to merge away
    #[arg(required = true, value_name = "SOURCE")]
    pub sources: Vec<String>,
    /// The entity that remains (created when it does not exist)
    #[arg(long, value_name = "TARGET")]
    pub into: String,
    /// Description of the merged entity (default: the descriptions joined)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Type of the merged entity (default: the first entity's type)
    #[arg(long = "type", value_name = "TYPE")]
    pub entity_type: Option<String>,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs one edit (a dry run when asked; a confirmed one when `confirm` names what it removes).
fn run(
    ctx: &Ctx,
    svc: &mut Service,
    actor: &Actor,
    scope: &KbScope,
    op: GraphOp,
    dry_run: bool,
    confirm: Option<bool>,
) -> Result<i32> {
    let (tenant, kb) = (scope.tenant(), scope.kb());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let out = ctx.out;
    let mut edit = |dry_run: bool| {
        runtime.block_on(
            svc.edit_graph(actor, tenant.as_deref(), kb.as_deref(), &op, dry_run, || {
                out.note("waiting for an ingest or delete on this knowledge base to finish…");
                Ok(())
            }),
        )
    };
    if !dry_run && let Some(false) = confirm {
        let plan = edit(true)?;
        let what = format!(
            "{} (removing {} entities and {} relations)",
            op.describe(),
            plan.entities_removed.len(),
            plan.relations_removed.len()
        );
        confirm::destructive(ctx, false, &what, None, DryRun::Offered)?;
    }
    let report = edit(dry_run)?;
    render(ctx, &report);
    Ok(0)
}

fn render(ctx: &Ctx, r: &EditReport) {
    ctx.out.emit(
        r,
        || {
            r.entities_created
                .iter()
                .chain(&r.entities_updated)
                .cloned()
                .chain(
                    r.relations_created
                        .iter()
                        .chain(&r.relations_updated)
                        .map(|p| p.join("~")),
                )
                .collect()
        },
        || {
            let pairs = |list: &[[String; 2]]| list.iter().map(|p| format!("{} ~ {}", p[0], p[1])).collect::<Vec<_>>();
            let mut lines = Vec::new();
            let mut line = |label: &str, items: Vec<String>| {
                if !items.is_empty() {
                    lines.push(format!("{label}: {}", items.join(", ")));
                }
            };
            line("entities created", r.entities_created.clone());
            line("entities updated", r.entities_updated.clone());
            line("entities removed", r.entities_removed.clone());
            line("relations created", pairs(&r.relations_created));
            line("relations updated", pairs(&r.relations_updated));
            line("relations removed", pairs(&r.relations_removed));
            line(
                "aliases",
                r.aliases
                    .iter()
                    .map(|a| format!("{} -> {}", a.alias, a.canonical))
                    .collect(),
            );
            lines.push(match r.dry_run {
                true => format!(
                    "{}: dry run, nothing changed ({} vectors would be recomputed)",
                    r.action, r.embedded
                ),
                false => format!("{}: done, {} vectors recomputed", r.action, r.embedded),
            });
            lines.join("\n")
        },
    );
}

pub fn exec_entity(ctx: &Ctx, svc: &mut Service, actor: &Actor, cmd: EntityCmd) -> Result<i32> {
    match cmd {
        EntityCmd::Create(a) => {
            let op = GraphOp::CreateEntity {
                name: a.name,
                patch: EntityPatch {
                    entity_type: a.entity_type,
                    description: Some(a.description),
                },
            };
            run(ctx, svc, actor, &a.scope, op, false, None)
        }
        EntityCmd::Edit(a) => {
            let op = GraphOp::EditEntity {
                name: a.name,
                patch: EntityPatch {
                    entity_type: a.entity_type,
                    description: a.description,
                },
            };
            run(ctx, svc, actor, &a.scope, op, false, None)
        }
        EntityCmd::Rename(a) => {
            let op = GraphOp::Merge {
                sources: vec![a.name],
                target: a.new_name,
                patch: EntityPatch::default(),
                rename: true,
            };
            run(ctx, svc, actor, &a.scope, op, a.dry_run, None)
        }
        EntityCmd::Delete(a) => {
            let op = GraphOp::DeleteEntity { name: a.name };
            run(ctx, svc, actor, &a.scope, op, a.dry_run, Some(a.yes))
        }
    }
}

pub fn exec_relation(ctx: &Ctx, svc: &mut Service, actor: &Actor, cmd: RelationCmd) -> Result<i32> {
    match cmd {
        RelationCmd::Create(a) => {
            let op = GraphOp::CreateRelation {
                src: a.source,
                tgt: a.target,
                patch: RelationPatch {
                    description: Some(a.description),
                    keywords: a.keywords,
                    weight: a.weight,
                },
            };
            run(ctx, svc, actor, &a.scope, op, false, None)
        }
        RelationCmd::Edit(a) => {
            let op = GraphOp::EditRelation {
                src: a.source,
                tgt: a.target,
                patch: RelationPatch {
                    description: a.description,
                    keywords: a.keywords,
                    weight: a.weight,
                },
            };
            run(ctx, svc, actor, &a.scope, op, false, None)
        }
        RelationCmd::Delete(a) => {
            let op = GraphOp::DeleteRelation {
                src: a.source,
                tgt: a.target,
            };
            run(ctx, svc, actor, &a.scope, op, a.dry_run, Some(a.yes))
        }
    }
}

pub fn exec_merge(ctx: &Ctx, svc: &mut Service, actor: &Actor, a: MergeArgs) -> Result<i32> {
    let op = GraphOp::Merge {
        sources: a.sources,
        target: a.into,
        patch: EntityPatch {
            entity_type: a.entity_type,
            description: a.description,
        },
        rename: false,
    };
    run(ctx, svc, actor, &a.scope, op, a.dry_run, Some(a.yes))
}
