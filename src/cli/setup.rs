//! `lrt init`, `lrt config …`, `lrt quickstart`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::Ctx;
use super::output::list_table;
use crate::config::{self, Env, InitValues, ProcessEnv, Source};
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::service::{SAMPLE_DOCS, Service, validate};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt init                       # asks on a terminal\n  lrt init --user alice --super-admins alice,ops --multi-tenant\n  lrt init --config ./lrt.toml --data-dir ./lrt-data --user ci --force"
)]
pub struct InitArgs {
    /// Your user id [default: LRT_USER, else the OS user]
    #[arg(long)]
    pub user: Option<String>,
    /// Comma-separated super-admins [default: the user]
    #[arg(long, value_name = "USERS")]
    pub super_admins: Option<String>,
    /// Require a tenant and KB on every KB command (ENABLE_MULTI_TENANTS=true)
    #[arg(long, conflicts_with = "single_workspace")]
    pub multi_tenant: bool,
    /// Use the built-in `default` workspace when none is named (the default)
    #[arg(long)]
    pub single_workspace: bool,
    /// Overwrite an existing config file
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print every effective setting and where it came from (secrets masked)
    Show,
    /// Print the config file's path
    Path,
}

fn interactive(ctx: &Ctx) -> bool {
    !ctx.no_input() && !ctx.out.is_json() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn prompt(label: &str, default: String) -> Result<String> {
    dialoguer::Input::new()
        .with_prompt(label)
        .default(default)
        .interact_text()
        .map_err(|e| Error::Usage(format!("cannot prompt: {e}")))
}

pub fn init(ctx: &Ctx, args: InitArgs) -> Result<i32> {
    let path = config::config_path(&ctx.overrides(), &ProcessEnv).value;
    if path.exists() && !args.force {
        return Err(Error::Conflict(format!(
            "config file {} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    let ask = interactive(ctx);
    let default_user = ProcessEnv.get("LRT_USER").or_else(|| config::os_user(&ProcessEnv));
    let user = match (args.user, default_user) {
        (Some(u), _) => u,
        (None, Some(d)) if ask => prompt("Your user id", d)?,
        (None, Some(d)) => d,
        (None, None) if ask => prompt("Your user id", String::new())?,
        (None, None) => return Err(config::no_identity()),
    };
    validate::user_id(&user)?;
    let super_admins = match args.super_admins {
        Some(list) => config::split_users(&list),
        None if ask => config::split_users(&prompt("Super-admins (comma-separated)", user.clone())?),
        None => vec![user.clone()],
    };
    for u in &super_admins {
        validate::user_id(u)?;
    }
    let data_dir = match (&ctx.global.data_dir, ProcessEnv.get("LRT_DATA_DIR")) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => PathBuf::from(d),
        (None, None) if ask => PathBuf::from(prompt(
            "Data directory",
            config::default_data_dir().display().to_string(),
        )?),
        (None, None) => config::default_data_dir(),
    };
    let data_dir = std::path::absolute(&data_dir).unwrap_or(data_dir);
    let multi_tenant = if args.multi_tenant || args.single_workspace {
        args.multi_tenant
    } else if ask {
        dialoguer::Confirm::new()
            .with_prompt("Enable multi-tenancy (every KB command names a tenant and KB)?")
            .default(false)
            .interact()
            .map_err(|e| Error::Usage(format!("cannot prompt: {e}")))?
    } else {
        false
    };
    let values = InitValues {
        user,
        super_admins,
        data_dir,
        multi_tenant,
    };
    write_init(&path, &values)?;
    let report = json!({
        "config_file": path,
        "data_dir": values.data_dir,
        "user": values.user,
        "super_admins": values.super_admins,
        "multi_tenant": values.multi_tenant,
    });
    ctx.out.emit(
        &report,
        || vec![path.display().to_string()],
        || {
            format!(
                "Wrote {}\nData directory {} (mode 0700)\nYou are '{}'{}.",
                path.display(),
                values.data_dir.display(),
                values.user,
                if values.super_admins.contains(&values.user) {
                    ", a super-admin"
                } else {
                    ""
                }
            )
        },
    );
    Ok(0)
}

/// Writes the config file and creates the data directory with its catalog.
fn write_init(path: &std::path::Path, values: &InitValues) -> Result<()> {
    let layout = Layout::new(values.data_dir.clone());
    crate::catalog::SqliteCatalog::open(layout)?;
    config::write_config(path, &config::render_config(values))
}

pub fn config(ctx: &Ctx, cmd: ConfigCmd) -> Result<i32> {
    match cmd {
        ConfigCmd::Path => {
            let path = config::config_path(&ctx.overrides(), &ProcessEnv).value;
            ctx.out.emit(
                &json!({"config_file": path}),
                || vec![path.display().to_string()],
                || path.display().to_string(),
            );
        }
        ConfigCmd::Show => {
            let settings = ctx.settings()?;
            let entries = settings.entries();
            let doc: serde_json::Map<String, serde_json::Value> = entries
                .iter()
                .map(|(k, v, src)| (k.to_string(), json!({"value": v, "source": src})))
                .collect();
            let rows = entries
                .iter()
                .map(|(k, v, src)| vec![k.to_string(), super::output::cell(v), src.clone()])
                .collect();
            ctx.out.emit(
                &doc,
                || entries.iter().map(|(k, _, _)| k.to_string()).collect(),
                || list_table(&["SETTING", "VALUE", "SOURCE"], rows),
            );
        }
    }
    Ok(0)
}

pub fn quickstart(ctx: &Ctx) -> Result<i32> {
    let mut settings = ctx.settings()?;
    if !settings.config_file_found && settings.config_path.source == Source::Default {
        // A fresh machine: set up the local user as super-admin, as `lrt init` would.
        let user = settings.user.value.clone().ok_or_else(config::no_identity)?;
        let values = InitValues {
            super_admins: vec![user.clone()],
            user,
            data_dir: settings.data_dir.value.clone(),
            multi_tenant: settings.multi_tenant.value,
        };
        write_init(&settings.config_path.value, &values)?;
        ctx.out.note(&format!(
            "Wrote {} (you are a super-admin).",
            settings.config_path.value.display()
        ));
        settings = ctx.settings()?;
    }
    let mut svc = Service::open(settings)?;
    let actor = ctx.actor(&svc)?;
    ctx.out.note(&format!(
        "Setting up the demo tenant and ingesting {} sample documents…",
        SAMPLE_DOCS.len()
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let previous = svc.context(&actor)?;
    let qs = runtime.block_on(async {
        tokio::select! {
            r = svc.quickstart(&actor) => r,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted(
                "interrupted: run `lrt quickstart` again to finish".into(),
            )),
        }
    })?;
    let folder = svc.kb_folder(&qs.kb);
    // Switching the current context changes where later commands go: say so, and how back.
    let now = format!("{} / {}", qs.tenant.tenant_name, qs.kb.kb_name);
    match previous.as_ref() {
        Some(before) if before.kb_id.as_deref() == Some(qs.kb.kb_id.as_str()) => {}
        Some(before) => {
            let back = format!(
                "lrt use {} {}",
                before.tenant_name,
                before.kb_name.as_deref().unwrap_or("")
            );
            ctx.out.note(&format!(
                "note: your current context changed from {} to {now}; `{}` switches back",
                super::admin::context_text(before),
                back.trim_end()
            ));
        }
        None => ctx.out.note(&format!(
            "note: your current context is now {now} (`lrt use --clear` forgets it)"
        )),
    }
    ctx.out.emit(
        &qs,
        || vec![qs.tenant.tenant_id.clone(), qs.kb.kb_id.clone()],
        || {
            let r = &qs.ingest;
            let mut text = format!(
                "1. {} tenant '{}' with knowledge base '{}' (now your current context)\n   folder {}\n",
                if qs.created { "Created" } else { "Reusing" },
                qs.tenant.tenant_name,
                qs.kb.kb_name,
                folder.display()
            );
            text.push_str(&format!(
                "2. Ingested {} sample documents from examples/docs/: {} added, {} already there; \
             the graph has {} entities and {} relations\n",
                r.documents.len(),
                r.added,
                r.duplicates,
                qs.kb.entity_count,
                qs.kb.relation_count
            ));
            text.push_str(&format!("3. Asked ({} mode): {}\n\n", qs.mode.as_str(), qs.question));
            text.push_str(qs.answer.trim_end());
            text.push_str(
                "\n\nNext steps:\n  \
             lrt query \"Who founded Kestrel Tidal Systems?\"    # ask your own question\n  \
             lrt query --mode local \"Who is Priya Anand?\"      # another retrieval mode\n  \
             lrt query --only-context \"What is SeaGrid?\"       # what the answer is built from\n  \
             lrt ingest ./my-notes/ --glob '*.md'                # add your own documents\n  \
             lrt kb show                                         # counts and settings\n  \
             lrt tenant show demo                                # API calls this month",
            );
            text
        },
    );
    Ok(0)
}
