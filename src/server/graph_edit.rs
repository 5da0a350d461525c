//! The graph curation routes (upstream's `/graph/entity/*`, `/graph/relation/*`,
//! `/graph/entities/merge`, `/graph/label/*`), under a KB. Each checks the path and headers,
//! admits the call (access, one API call) and runs one service method; edits run detached
//! (they embed) and answer 409 at once while the KB is being ingested.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::routes::{ApiResult, Authed, Body, InKb, Params, S, admit, to_json};
use crate::authz::Permission;
use crate::error::Error;
use crate::rag::engine::{EntityPatch, GraphOp, RelationPatch};
use crate::service::LabelOrder;

/// Runs one graph edit for a request.
async fn edit(st: S, actor: crate::authz::Actor, (t, k): (String, String), op: GraphOp, dry_run: bool) -> ApiResult {
    let State(st) = st;
    let report = st
        .detached(move |svc, runtime| {
            let (permission, action) = match op.deletes() {
                true => (Permission::DocumentDelete, "document.delete"),
                false => (Permission::DocumentUpdate, "document.update"),
            };
            admit(svc, &actor, (&t, &k), permission, action)?;
            runtime.block_on(svc.edit_graph(&actor, Some(&t), Some(&k), &op, dry_run, || {
                Err(Error::Conflict(
                    "the knowledge base is being ingested or another edit runs; try again when its queue is done"
                        .into(),
                ))
            }))
        })
        .await?;
    to_json(report)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntityBody {
    name: String,
    description: Option<String>,
    entity_type: Option<String>,
    /// Edit only: rename to this name.
    new_name: Option<String>,
    /// Edit only: a rename onto an existing entity merges into it.
    #[serde(default)]
    allow_merge: bool,
    #[serde(default)]
    dry_run: bool,
}

impl EntityBody {
    fn patch(&self) -> EntityPatch {
        EntityPatch {
            entity_type: self.entity_type.clone(),
            description: self.description.clone(),
        }
    }
}

/// `POST …/graph/entity/create`.
pub(super) async fn create_entity(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<EntityBody>,
) -> ApiResult {
    let op = GraphOp::CreateEntity {
        patch: b.patch(),
        name: b.name,
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

/// `POST …/graph/entity/edit`: description and type; with `new_name`, a rename (with
/// `allow_merge`, onto an existing entity: a merge), as upstream's `aedit_entity`.
pub(super) async fn edit_entity(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<EntityBody>,
) -> ApiResult {
    let patch = b.patch();
    let op = match b.new_name {
        Some(target) => GraphOp::Merge {
            sources: vec![b.name],
            target,
            patch,
            rename: !b.allow_merge,
        },
        None => GraphOp::EditEntity { name: b.name, patch },
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NameBody {
    name: String,
    #[serde(default)]
    dry_run: bool,
}

/// `POST …/graph/entity/delete`: the entity and its relations.
pub(super) async fn delete_entity(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<NameBody>,
) -> ApiResult {
    edit(st, actor, (t, k), GraphOp::DeleteEntity { name: b.name }, b.dry_run).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RelationBody {
    source: String,
    target: String,
    description: Option<String>,
    keywords: Option<String>,
    weight: Option<f64>,
    #[serde(default)]
    dry_run: bool,
}

impl RelationBody {
    fn patch(&self) -> RelationPatch {
        RelationPatch {
            description: self.description.clone(),
            keywords: self.keywords.clone(),
            weight: self.weight,
        }
    }
}

/// `POST …/graph/relation/create`.
pub(super) async fn create_relation(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<RelationBody>,
) -> ApiResult {
    let op = GraphOp::CreateRelation {
        patch: b.patch(),
        src: b.source,
        tgt: b.target,
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

/// `POST …/graph/relation/edit`.
pub(super) async fn edit_relation(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<RelationBody>,
) -> ApiResult {
    let op = GraphOp::EditRelation {
        patch: b.patch(),
        src: b.source,
        tgt: b.target,
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PairBody {
    source: String,
    target: String,
    #[serde(default)]
    dry_run: bool,
}

/// `POST …/graph/relation/delete`.
pub(super) async fn delete_relation(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<PairBody>,
) -> ApiResult {
    let op = GraphOp::DeleteRelation {
        src: b.source,
        tgt: b.target,
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MergeBody {
    sources: Vec<String>,
    target: String,
    description: Option<String>,
    entity_type: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// `POST …/graph/entities/merge`.
pub(super) async fn merge_entities(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Body(b): Body<MergeBody>,
) -> ApiResult {
    let op = GraphOp::Merge {
        sources: b.sources,
        target: b.target,
        patch: EntityPatch {
            entity_type: b.entity_type,
            description: b.description,
        },
        rename: false,
    };
    edit(st, actor, (t, k), op, b.dry_run).await
}

#[derive(Deserialize)]
pub(super) struct ExistsQuery {
    name: Option<String>,
}

/// `GET …/graph/entity/exists?name=`: `{"exists": bool}` (no name: false).
pub(super) async fn entity_exists(
    State(st): S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<ExistsQuery>,
) -> ApiResult {
    let exists = st
        .call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            match q.name {
                Some(name) => svc.entity_exists(&actor, Some(&t), Some(&k), &name),
                None => Ok(false),
            }
        })
        .await?;
    to_json(json!({ "exists": exists }))
}

#[derive(Deserialize)]
pub(super) struct LabelQuery {
    q: Option<String>,
    limit: Option<usize>,
}

async fn labels(
    st: S,
    actor: crate::authz::Actor,
    (t, k): (String, String),
    order: LabelOrder,
    q: LabelQuery,
) -> ApiResult {
    let State(st) = st;
    let limit = q.limit.unwrap_or(match order {
        LabelOrder::Name => 1000,
        LabelOrder::Degree => 300,
    });
    to_json(
        st.call(move |svc| {
            admit(svc, &actor, (&t, &k), Permission::DocumentRead, "document.read")?;
            svc.graph_labels(&actor, Some(&t), Some(&k), order, q.q, limit)
        })
        .await?,
    )
}

/// `GET …/graph/label/list?limit=`: entity names in name order.
pub(super) async fn label_list(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<LabelQuery>,
) -> ApiResult {
    labels(st, actor, (t, k), LabelOrder::Name, q).await
}

/// `GET …/graph/label/popular?limit=`: the most connected entities first.
pub(super) async fn label_popular(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<LabelQuery>,
) -> ApiResult {
    labels(st, actor, (t, k), LabelOrder::Degree, q).await
}

/// `GET …/graph/label/search?q=&limit=`: names containing `q` (ignoring case), most connected
/// first.
pub(super) async fn label_search(
    st: S,
    Authed(actor): Authed,
    InKb(t, k): InKb,
    Params(q): Params<LabelQuery>,
) -> ApiResult {
    labels(st, actor, (t, k), LabelOrder::Degree, q).await
}
