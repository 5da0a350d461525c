//! `lrt graph entities|show|export|view`: a KB's knowledge graph (needs document:read); the
//! edits (`entity`, `relation`, `merge`) are in `graph_edit`.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::json;

use super::doc::KbScope;
use super::graph_edit::{self, EntityCmd, MergeArgs, RelationCmd};
use super::output::{kv_table, list_table};
use super::{Ctx, PageArgs};
use crate::error::{Error, Result};
use crate::service::{DEFAULT_SHOW_NODES, ExportFormat, NameMatch, ViewRequest};

#[derive(Debug, Subcommand)]
pub enum GraphCmd {
    /// List entities by degree: name, type, degree, source chunks (needs document:read)
    #[command(
        after_help = "Examples:\n  lrt graph entities --tenant acme --kb docs\n  lrt graph entities --search curie --type person --page-size 10 --json"
    )]
    Entities(EntitiesArgs),
    /// Show an entity: descriptions, neighbours with relations and weights, source documents
    /// (needs document:read)
    #[command(
        after_help = "Entity names are matched exactly first, then ignoring case.\n\nExamples:\n  lrt graph show \"Marie Curie\"\n  lrt graph show --tenant acme --kb docs paris --json"
    )]
    Show(ShowArgs),
    /// Export the whole graph as GraphML (Gephi, networkx, yEd) or JSON (needs document:read)
    #[command(
        after_help = "Without --out the export is written to stdout. --out writes the file atomically and\nrefuses to replace an existing file unless --force is given.\n\nExamples:\n  lrt graph export --format graphml --out graph.graphml\n  lrt graph export --format json | jq '.nodes | length'"
    )]
    Export(ExportArgs),
    /// Write the graph as one self-contained HTML page to explore: nodes coloured by type and
    /// sized by degree, search, click for descriptions and sources (needs document:read)
    #[command(
        after_help = "The page embeds its data and script and loads nothing from the network. It first shows the\n--max-nodes entities of highest degree; clicking a node shows its hidden neighbours, and the\npage says what was left out. --entity shows one entity's neighbourhood instead.\n\nExamples:\n  lrt graph view --out graph.html\n  lrt graph view --entity \"Marie Curie\" --depth 2 --open\n  lrt graph view --tenant acme --kb docs --max-nodes 400 --out docs-graph.html --force"
    )]
    View(ViewArgs),
    /// Create, edit, rename or delete entities by hand (needs document:update; delete needs
    /// document:delete)
    #[command(subcommand)]
    Entity(EntityCmd),
    /// Create, edit or delete relations by hand (needs document:update; delete needs
    /// document:delete)
    #[command(subcommand)]
    Relation(RelationCmd),
    /// Merge entities into one; their relations follow (needs document:update)
    #[command(
        after_help = "Relations that end up between the same two entities are merged (descriptions joined,\nkeywords united, the largest weight); relations between merged entities are dropped. The\nmerged names become aliases: documents ingested later that mention them land on TARGET.\n\nExamples:\n  lrt graph merge \"J. Smith\" \"Smith, John\" --into \"John Smith\" --dry-run\n  lrt graph merge \"J. Smith\" --into \"John Smith\" --yes --json"
    )]
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct EntitiesArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Only names containing TEXT (ignoring case)
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only entities of this type (ignoring case), e.g. person
    #[arg(long = "type", value_name = "TYPE")]
    pub entity_type: Option<String>,
    #[command(flatten)]
    pub paging: PageArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Entity name (exact, else case-insensitive)
    pub entity: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Export format
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Write to FILE (atomically) instead of stdout
    #[arg(long = "out", short = 'O', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "out")]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).multiple(true).args(["out", "open"])))]
pub struct ViewArgs {
    #[command(flatten)]
    pub scope: KbScope,
    /// Only this entity's neighbourhood (exact name, else ignoring case)
    #[arg(long, value_name = "NAME")]
    pub entity: Option<String>,
    /// Hops from --entity (1–5)
    #[arg(long, default_value_t = 2, requires = "entity", value_name = "N")]
    pub depth: u32,
    /// Entities drawn at first, highest degree first (1–5000); the rest appear on click
    #[arg(long, default_value_t = DEFAULT_SHOW_NODES, value_name = "N")]
    pub max_nodes: usize,
    /// Write the page to FILE (atomically)
    #[arg(long = "out", short = 'O', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long, requires = "out")]
    pub force: bool,
    /// Open the page in the default browser (without --out it is written to a temporary file)
    #[arg(long)]
    pub open: bool,
}

pub fn exec(ctx: &Ctx, cmd: GraphCmd) -> Result<i32> {
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let out = ctx.out;
    match cmd {
        GraphCmd::Entity(cmd) => return graph_edit::exec_entity(ctx, &mut svc, &actor, cmd),
        GraphCmd::Relation(cmd) => return graph_edit::exec_relation(ctx, &mut svc, &actor, cmd),
        GraphCmd::Merge(args) => return graph_edit::exec_merge(ctx, &mut svc, &actor, args),
        GraphCmd::Entities(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let paging = args.paging.paging()?;
            let page = svc.entities_page(
                &actor,
                tenant.as_deref(),
                kb.as_deref(),
                args.search,
                args.entity_type,
                paging,
            )?;
            out.emit_page(
                &page,
                "matching entities",
                &["NAME", "TYPE", "DEGREE", "CHUNKS"],
                |e| {
                    vec![
                        e.name.clone(),
                        e.entity_type.clone(),
                        e.degree.to_string(),
                        e.source_chunks.to_string(),
                    ]
                },
                |e| e.name.clone(),
            );
        }
        GraphCmd::Show(args) => {
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let e = svc.show_entity(&actor, tenant.as_deref(), kb.as_deref(), &args.entity)?;
            out.emit(
                &e,
                || vec![e.name.clone()],
                || {
                    let matched = match e.matched {
                        NameMatch::Exact => "exact".to_string(),
                        NameMatch::CaseInsensitive => format!("ignoring case ('{}')", args.entity),
                    };
                    let mut rows = vec![
                        ("name".to_string(), e.name.clone()),
                        ("matched".to_string(), matched),
                        ("entity_type".to_string(), e.entity_type.clone()),
                        ("degree".to_string(), e.degree.to_string()),
                        ("source_chunks".to_string(), e.source_chunks.to_string()),
                        ("file_paths".to_string(), e.file_paths.join("\n")),
                        ("created_at".to_string(), e.created_at.clone()),
                    ];
                    if !e.truncate.is_empty() {
                        rows.push(("truncate".to_string(), e.truncate.clone()));
                    }
                    for (i, d) in e.description.iter().enumerate() {
                        rows.push((format!("description[{i}]"), d.clone()));
                    }
                    let neighbours = e
                        .neighbours
                        .iter()
                        .map(|n| {
                            vec![
                                n.name.clone(),
                                n.weight.to_string(),
                                n.keywords.join(", "),
                                n.description.join("\n"),
                            ]
                        })
                        .collect();
                    let documents = e
                        .documents
                        .iter()
                        .map(|d| vec![d.doc_id.clone(), d.file_path.clone(), d.status.as_str().to_string()])
                        .collect();
                    format!(
                        "{}\n\nNeighbours:\n{}\n\nSource documents:\n{}",
                        kv_table(rows),
                        list_table(&["NEIGHBOUR", "WEIGHT", "KEYWORDS", "DESCRIPTION"], neighbours),
                        list_table(&["DOCUMENT", "FILE", "STATUS"], documents)
                    )
                },
            );
        }
        GraphCmd::Export(args) => {
            let format = args.format;
            if let Some(path) = &args.out {
                crate::service::check_destination(path, args.force, &svc.settings().data_dir.value)?;
            }
            let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
            let graph = svc.export_graph(&actor, tenant.as_deref(), kb.as_deref())?;
            match &args.out {
                None => {
                    let stdout = std::io::stdout().lock();
                    match graph.write(&mut BufWriter::new(stdout), format) {
                        Ok(()) => {}
                        // `lrt graph export | head` is not an error.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                        Err(e) => return Err(Error::storage("cannot write the export to stdout", e)),
                    }
                }
                Some(path) => {
                    write_file(path, args.force, |mut w| graph.write(&mut w, format))?;
                    let summary = json!({
                        "file": path.display().to_string(),
                        "format": format.name(),
                        "nodes": graph.nodes.len(),
                        "edges": graph.edges.len(),
                    });
                    out.emit(
                        &summary,
                        || vec![path.display().to_string()],
                        || {
                            format!(
                                "Wrote {} nodes and {} edges to {} ({})",
                                graph.nodes.len(),
                                graph.edges.len(),
                                path.display(),
                                format.name()
                            )
                        },
                    );
                }
            }
        }
        GraphCmd::View(args) => view(ctx, &mut svc, &actor, args)?,
    }
    Ok(0)
}

/// `graph view`: the page, written to --out (or a kept temporary file) and opened on --open.
fn view(ctx: &Ctx, svc: &mut crate::service::Service, actor: &crate::authz::Actor, args: ViewArgs) -> Result<()> {
    if let Some(path) = &args.out {
        crate::service::check_destination(path, args.force, &svc.settings().data_dir.value)?;
    }
    let request = ViewRequest {
        entity: args.entity,
        depth: args.depth,
        show: args.max_nodes,
    };
    let (tenant, kb) = (args.scope.tenant(), args.scope.kb());
    let view = svc.graph_view(actor, tenant.as_deref(), kb.as_deref(), &request)?;
    let html = crate::assets::graph_html(&view).map_err(|e| Error::Internal(format!("cannot write the page: {e}")))?;
    let path = match &args.out {
        Some(path) => {
            write_file(path, args.force, |w| w.write_all(html.as_bytes()))?;
            path.clone()
        }
        None => {
            let context = |e| Error::storage("cannot write the page to a temporary file", e);
            let mut tmp = tempfile::Builder::new()
                .prefix("lrt-graph-")
                .suffix(".html")
                .tempfile()
                .map_err(context)?;
            std::io::Write::write_all(tmp.as_file_mut(), html.as_bytes()).map_err(context)?;
            tmp.keep().map_err(|e| context(e.error))?.1
        }
    };
    let opened = if args.open { Some(open_in_browser(&path)) } else { None };
    let summary = json!({
        "file": path.display().to_string(),
        "nodes": view.nodes.len(),
        "edges": view.edges.len(),
        "shown_first": view.nodes.len().min(view.show),
        "omitted_nodes": view.omitted_nodes,
        "opened": opened.as_ref().map(|o| o.is_ok()),
    });
    ctx.out.emit(
        &summary,
        || vec![path.display().to_string()],
        || {
            let mut text = format!(
                "Wrote {} entities and {} relations to {} ({} shown at first)",
                view.nodes.len(),
                view.edges.len(),
                path.display(),
                view.nodes.len().min(view.show)
            );
            if view.omitted_nodes > 0 {
                text.push_str(&format!(
                    "; {} entities of lowest degree left out (use --entity to focus)",
                    view.omitted_nodes
                ));
            }
            if let Some(Err(e)) = &opened {
                text.push_str(&format!("\ncould not open a browser ({e}); open the file yourself"));
            }
            text
        },
    );
    Ok(())
}

/// Opens `path` with the desktop's default handler, without waiting for the browser.
fn open_in_browser(path: &Path) -> std::io::Result<()> {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|_| ())
}

fn exists_error(path: &Path) -> Error {
    Error::Conflict(format!("{} already exists; pass --force to replace it", path.display()))
}

/// Writes a file through `write` to a temporary file next to `path`, syncs it, then moves it
/// into place: readers never see a half-written file, and without `force` an existing file
/// (even one that appeared meanwhile) is never replaced.
fn write_file(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let context = || format!("cannot write {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".lrt-export-")
        .tempfile_in(dir)
        .map_err(|e| Error::storage(context(), e))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w)
            .and_then(|()| std::io::Write::flush(&mut w))
            .map_err(|e| Error::storage(context(), e))?;
    }
    tmp.as_file().sync_all().map_err(|e| Error::storage(context(), e))?;
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    match persisted {
        Ok(_) => Ok(()),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Err(exists_error(path)),
        Err(e) => Err(Error::storage(context(), e.error)),
    }
}
