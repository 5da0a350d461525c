//! The graph as a picture's data (`lrt graph view`, the console's explorer,
//! `GET …/graph/view`): the KB's graph or one entity's neighbourhood, nodes by degree. The
//! data holds at most [`MAX_VIEW_NODES`] nodes (the highest degrees, the focus entity always
//! among them) and says how many were left out; the viewer first draws `show` of them and
//! reveals the others on click. Needs `document:read`, like every graph read.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::Serialize;

use super::Service;
use super::inspect::{keywords, resolve_entity};
use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::store::inspect::{GraphEdge, GraphNode, fragments};

/// The most nodes a view's data holds; beyond, the lowest degrees are left out (and counted).
pub const MAX_VIEW_NODES: usize = 5000;
/// Nodes drawn at first unless the caller says otherwise.
pub const DEFAULT_SHOW_NODES: usize = 150;
/// The deepest `--depth` accepted.
pub const MAX_VIEW_DEPTH: u32 = 5;

/// What to show.
#[derive(Debug, Clone)]
pub struct ViewRequest {
    /// Only this entity's neighbourhood (exact name, else ignoring case).
    pub entity: Option<String>,
    /// Hops from `entity` (1–[`MAX_VIEW_DEPTH`]).
    pub depth: u32,
    /// Nodes drawn at first (1–[`MAX_VIEW_NODES`]).
    pub show: usize,
}

impl Default for ViewRequest {
    fn default() -> Self {
        ViewRequest {
            entity: None,
            depth: 2,
            show: DEFAULT_SHOW_NODES,
        }
    }
}

/// An entity as the viewer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ViewNode {
    pub id: String,
    #[serde(rename = "type")]
    pub entity_type: String,
    pub description: Vec<String>,
    /// Relations in the whole KB (also those left out of the view).
    pub degree: u64,
    /// The source documents' file paths.
    pub files: Vec<String>,
}

/// A relation as the viewer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ViewEdge {
    pub source: String,
    pub target: String,
    pub weight: f64,
    pub description: Vec<String>,
    pub keywords: Vec<String>,
    pub files: Vec<String>,
}

/// The data of one view: what the HTML file embeds and the route answers.
#[derive(Debug, Clone, Serialize)]
pub struct GraphView {
    pub tenant: String,
    pub kb: String,
    /// The entity whose neighbourhood this is (its exact name).
    pub focus: Option<String>,
    pub depth: Option<u32>,
    /// Nodes drawn at first.
    pub show: usize,
    /// Entities and relations in the KB.
    pub kb_nodes: u64,
    pub kb_edges: u64,
    /// Nodes of the selection (the KB, or the neighbourhood) left out of `nodes` past
    /// [`MAX_VIEW_NODES`].
    pub omitted_nodes: u64,
    /// Highest degree first, the focus entity first of all.
    pub nodes: Vec<ViewNode>,
    /// The relations between `nodes`.
    pub edges: Vec<ViewEdge>,
}

impl ViewRequest {
    fn check(&self) -> Result<()> {
        if self.depth == 0 || self.depth > MAX_VIEW_DEPTH {
            return Err(Error::Usage(format!("--depth must be between 1 and {MAX_VIEW_DEPTH}")));
        }
        if self.show == 0 || self.show > MAX_VIEW_NODES {
            return Err(Error::Usage(format!(
                "--max-nodes must be between 1 and {MAX_VIEW_NODES}"
            )));
        }
        Ok(())
    }
}

/// Picks the view's nodes and edges from the whole graph: the neighbourhood of `focus` to
/// `depth` hops (or everything), then the [`MAX_VIEW_NODES`] of highest degree.
fn select(
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
    focus: Option<&str>,
    depth: u32,
) -> (Vec<ViewNode>, Vec<ViewEdge>, u64) {
    let mut degree: HashMap<&str, u64> = HashMap::new();
    let mut adjacent: HashMap<&str, Vec<&str>> = HashMap::new();
    for e in &edges {
        *degree.entry(&e.source).or_default() += 1;
        *degree.entry(&e.target).or_default() += 1;
        adjacent.entry(&e.source).or_default().push(&e.target);
        adjacent.entry(&e.target).or_default().push(&e.source);
    }
    let within: Option<HashSet<&str>> = focus.map(|f| {
        let mut seen = HashSet::from([f]);
        let mut queue = VecDeque::from([(f, 0)]);
        while let Some((name, d)) = queue.pop_front() {
            if d == depth {
                continue;
            }
            for next in adjacent.get(name).into_iter().flatten() {
                if seen.insert(next) {
                    queue.push_back((next, d + 1));
                }
            }
        }
        seen
    });
    let mut picked: Vec<&GraphNode> = nodes
        .iter()
        .filter(|n| within.as_ref().is_none_or(|w| w.contains(n.entity_id.as_str())))
        .collect();
    let deg = |n: &str| degree.get(n).copied().unwrap_or(0);
    picked.sort_by(|a, b| {
        let first = |n: &GraphNode| Some(n.entity_id.as_str()) == focus;
        first(b)
            .cmp(&first(a))
            .then(deg(&b.entity_id).cmp(&deg(&a.entity_id)))
            .then(a.entity_id.cmp(&b.entity_id))
    });
    let omitted = picked.len().saturating_sub(MAX_VIEW_NODES) as u64;
    picked.truncate(MAX_VIEW_NODES);
    let kept: HashSet<&str> = picked.iter().map(|n| n.entity_id.as_str()).collect();
    let view_edges = edges
        .iter()
        .filter(|e| kept.contains(e.source.as_str()) && kept.contains(e.target.as_str()))
        .map(|e| ViewEdge {
            source: e.source.clone(),
            target: e.target.clone(),
            weight: e.weight,
            description: fragments(&e.description),
            keywords: keywords(&e.keywords),
            files: fragments(&e.file_path),
        })
        .collect();
    let view_nodes = picked
        .into_iter()
        .map(|n| ViewNode {
            id: n.entity_id.clone(),
            entity_type: n.entity_type.clone(),
            description: fragments(&n.description),
            degree: deg(&n.entity_id),
            files: fragments(&n.file_path),
        })
        .collect();
    (view_nodes, view_edges, omitted)
}

impl Service {
    /// The data of a graph view of the KB (needs `document:read`; kb.db read-only).
    pub fn graph_view(
        &mut self,
        actor: &Actor,
        tenant: Option<&str>,
        kb: Option<&str>,
        request: &ViewRequest,
    ) -> Result<GraphView> {
        request.check()?;
        let (handle, store) = self.read_kb(actor, tenant, kb, "document.read")?;
        let (focus, (nodes, edges)) = match (&store, &request.entity) {
            (None, Some(name)) => return Err(super::inspect::entity_not_found(name, &handle)),
            (None, None) => (None, (Vec::new(), Vec::new())),
            (Some(store), name) => {
                let focus = match name {
                    Some(name) => Some(resolve_entity(store, name, &handle)?.0),
                    None => None,
                };
                (focus, store.graph()?)
            }
        };
        let (kb_nodes, kb_edges) = (nodes.len() as u64, edges.len() as u64);
        let (nodes, edges, omitted_nodes) = select(nodes, edges, focus.as_deref(), request.depth);
        Ok(GraphView {
            tenant: handle.tenant_name,
            kb: handle.kb_name,
            depth: focus.as_ref().map(|_| request.depth),
            focus,
            show: request.show,
            kb_nodes,
            kb_edges,
            omitted_nodes,
            nodes,
            edges,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> GraphNode {
        GraphNode {
            entity_id: name.into(),
            entity_type: "person".into(),
            description: "one<SEP>two".into(),
            source_id: String::new(),
            file_path: "a.md".into(),
            created_at: 0,
            truncate: String::new(),
        }
    }

    fn edge(a: &str, b: &str) -> GraphEdge {
        GraphEdge {
            source: a.into(),
            target: b.into(),
            weight: 1.0,
            description: "d".into(),
            keywords: "k1, k2".into(),
            source_id: String::new(),
            file_path: "a.md".into(),
            created_at: 0,
            truncate: String::new(),
        }
    }

    #[test]
    fn neighbourhood_to_depth_focus_first_then_by_degree() {
        // A chain a - b - c - d, and e linked to b.
        let nodes = ["a", "b", "c", "d", "e"].map(node).to_vec();
        let edges = vec![edge("a", "b"), edge("b", "c"), edge("c", "d"), edge("b", "e")];
        let (n, e, omitted) = select(nodes.clone(), edges.clone(), Some("a"), 1);
        assert_eq!(n.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!((e.len(), omitted), (1, 0));
        assert_eq!(n[1].degree, 3, "the degree counts the whole KB");
        let (n, e, _) = select(nodes.clone(), edges.clone(), Some("a"), 2);
        assert_eq!(
            n.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c", "e"]
        );
        assert_eq!(e.len(), 3);
        let (n, e, _) = select(nodes, edges, None, 1);
        assert_eq!(
            n.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            ["b", "c", "a", "d", "e"]
        );
        assert_eq!(e[0].keywords, ["k1", "k2"]);
        assert_eq!(n[0].description, ["one", "two"]);
    }

    #[test]
    fn past_the_limit_the_lowest_degrees_are_left_out_and_counted() {
        let mut nodes: Vec<GraphNode> = (0..MAX_VIEW_NODES + 3).map(|i| node(&format!("n{i:05}"))).collect();
        nodes.push(node("hub"));
        let edges = vec![edge("hub", "n00001")];
        let (n, e, omitted) = select(nodes, edges, None, 1);
        assert_eq!((n.len(), omitted, e.len()), (MAX_VIEW_NODES, 4, 1));
        assert_eq!(n[0].id, "hub");
    }

    #[test]
    fn bad_depth_and_sizes_are_usage_errors() {
        for r in [
            ViewRequest {
                depth: 0,
                ..Default::default()
            },
            ViewRequest {
                depth: MAX_VIEW_DEPTH + 1,
                ..Default::default()
            },
            ViewRequest {
                show: 0,
                ..Default::default()
            },
            ViewRequest {
                show: MAX_VIEW_NODES + 1,
                ..Default::default()
            },
        ] {
            assert!(matches!(r.check(), Err(Error::Usage(_))), "{r:?}");
        }
        assert!(ViewRequest::default().check().is_ok());
    }
}
