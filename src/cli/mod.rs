//! The command line: clap definitions, and a thin `exec` per command that parses its
//! arguments, calls one service function and renders the result. No business rules here.

mod admin;
mod archive;
mod chat;
mod complete;
mod confirm;
mod db;
mod debug;
mod doc;
mod docs;
mod doctor;
mod graph;
mod graph_edit;
mod ingest;
mod kb;
mod key;
mod mcp;
mod member;
pub mod output;
mod query;
mod serve;
mod setup;
mod tenant;
mod usage;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::authz::Actor;
use crate::config::{self, Env, ProcessEnv, Settings};
use crate::error::{ErrorKind, Result};
use crate::service::Service;
use output::{Format, Out};

pub use docs::exit_codes_text;

/// lrt: multi-tenant graph-RAG (LightRAG) — tenants, knowledge bases, members, roles.
#[derive(Debug, Parser)]
#[command(
    name = "lrt",
    version,
    disable_help_subcommand = true,
    after_long_help = docs::exit_codes_text(),
    after_help = "Run `lrt help exit-codes` for the exit codes, `lrt help quotas` for quotas and API calls, `lrt <command> --help` for examples."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)
    #[arg(long, global = true)]
    pub json: bool,
    /// Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<Format>,
    /// Print only ids, one per line (not with --json or -o)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Leave out the header row of tables and TSV
    #[arg(long, global = true)]
    pub no_headers: bool,
    /// Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Say more on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Act as another user (super-admins only; audited)
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,
    /// Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]
    #[arg(long, global = true)]
    pub no_input: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write config.toml and create the data directory
    Init(setup::InitArgs),
    /// Show the effective configuration
    #[command(subcommand)]
    Config(setup::ConfigCmd),
    /// Show or apply the catalog database's schema migrations (SQLite or PostgreSQL)
    #[command(subcommand)]
    Db(db::DbCmd),
    /// Show who you are, whether super-admin, and your memberships
    Whoami,
    /// Remember a current tenant (and KB) for later commands
    Use(admin::UseArgs),
    /// Create, list, show, update, (de)activate and delete tenants
    #[command(subcommand)]
    Tenant(tenant::TenantCmd),
    /// Create, list, show, update and delete knowledge bases
    #[command(subcommand)]
    Kb(kb::KbCmd),
    /// Add, list, update and remove tenant members
    #[command(subcommand)]
    Member(member::MemberCmd),
    /// Add documents to a knowledge base: chunk, extract the graph, embed (needs document:create)
    Ingest(ingest::IngestArgs),
    /// Answer a question from a knowledge base (needs query:run)
    Query(query::QueryArgs),
    /// Talk with a knowledge base: questions in a session, with its history (needs query:run)
    Chat(chat::ChatArgs),
    /// List and show a knowledge base's documents (needs document:read)
    #[command(subcommand)]
    Doc(doc::DocCmd),
    /// Inspect and export a knowledge base's graph (needs document:read)
    #[command(subcommand)]
    Graph(graph::GraphCmd),
    /// Read the audit log
    #[command(subcommand)]
    Audit(admin::AuditCmd),
    /// Check permissions
    #[command(subcommand)]
    Auth(admin::AuthCmd),
    /// Report a tenant's model tokens per knowledge base and month (needs tenant:manage_billing)
    Usage(usage::UsageArgs),
    /// Set up a demo tenant and KB, ingest the sample documents and answer a question (offline)
    #[command(
        after_help = "Examples:\n  lrt quickstart\n  lrt quickstart --json | jq -r .answer\n\nRunning it again reuses the demo tenant and KB (the documents are duplicates). It makes one ingest and one query API call."
    )]
    Quickstart,
    /// Check (and with --repair fix) the catalog, folders, kb.db, vector indexes and statistics
    #[command(
        after_help = "Examples:\n  lrt doctor\n  lrt doctor --tenant acme --kb docs --json\n  lrt doctor --repair --yes\n\nExit code 0 when healthy (or everything was repaired), 9 when problems remain."
    )]
    Doctor(doctor::DoctorArgs),
    /// Serve the REST API (tenants, KBs, members, query) over HTTP
    Serve(serve::ServeArgs),
    /// Serve the knowledge bases to AI agents over MCP on stdin/stdout (as the local identity)
    Mcp(mcp::McpArgs),
    /// Mint bearer tokens for `lrt serve`
    #[command(subcommand)]
    Token(serve::TokenCmd),
    /// Create, list and revoke API keys for `lrt serve` (X-API-Key)
    #[command(subcommand)]
    Key(key::KeyCmd),
    /// Show what the chunker and the extraction parser make of an input
    #[command(subcommand)]
    Debug(debug::DebugCmd),
    /// Print shell completions (or write all of them with --dir)
    Completions(docs::CompletionsArgs),
    /// Print the man page (or write all pages with --dir)
    Man(docs::ManArgs),
    /// Help on a command, or a topic: `lrt help exit-codes`
    Help(docs::HelpArgs),
}

/// When help and error messages may use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)
    Auto,
    Always,
    Never,
}

/// What every command's `exec` gets.
pub struct Ctx {
    pub out: Out,
    pub global: GlobalArgs,
}

impl Ctx {
    pub fn overrides(&self) -> config::Overrides {
        config::Overrides {
            config: self.global.config.clone(),
            data_dir: self.global.data_dir.clone(),
        }
    }

    pub fn settings(&self) -> Result<Settings> {
        let settings = Settings::load(&self.overrides(), &ProcessEnv)?;
        if self.global.verbose > 0 {
            eprintln!(
                "lrt: config {} ({}), data dir {} ({})",
                settings.config_path.value.display(),
                if settings.config_file_found {
                    "found"
                } else {
                    "not found"
                },
                settings.data_dir.value.display(),
                settings.data_dir.source
            );
        }
        Ok(settings)
    }

    pub fn service(&self) -> Result<Service> {
        let out = self.out;
        Ok(Service::open(self.settings()?)?.with_notices(move |text| out.note(text)))
    }

    /// The acting user, honouring `--as`.
    pub fn actor(&self, svc: &Service) -> Result<Actor> {
        svc.local_actor(self.global.as_user.as_deref())
    }

    pub fn no_input(&self) -> bool {
        // LRT_NO_INPUT was validated by `run` before any command started.
        self.global.no_input || env_no_input().unwrap_or(false)
    }
}

/// `--tenant` if given, else `LRT_TENANT`.
pub fn tenant_or_env(flag: &Option<String>) -> Option<String> {
    flag.clone().or_else(|| ProcessEnv.get("LRT_TENANT"))
}

/// `--kb` (or the KB argument) if given, else `LRT_KB`.
pub fn kb_or_env(flag: &Option<String>) -> Option<String> {
    flag.clone().or_else(|| ProcessEnv.get("LRT_KB"))
}

/// `--tenant T`, shared by the commands that work inside a tenant.
#[derive(Debug, Clone, Args)]
pub struct TenantArg {
    /// Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]
    #[arg(long, short = 't', value_name = "TENANT", add = complete::tenants())]
    pub tenant: Option<String>,
}

impl TenantArg {
    pub fn resolved(&self) -> Option<String> {
        tenant_or_env(&self.tenant)
    }
}

/// `--page`/`--page-size`, the paging of every list command (see [`crate::service::Paging`]). `--limit`, what
/// `audit list` and `graph entities` took before, is a hidden alias of `--page-size`.
#[derive(Debug, Clone, Copy, Args)]
pub struct PageArgs {
    /// Page number, from 1
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub page: u64,
    /// Items per page (1–1000)
    #[arg(long, value_name = "N", default_value_t = crate::service::DEFAULT_PAGE_SIZE, alias = "limit")]
    pub page_size: u64,
}

/// A tenant and a page: `kb list`, `member list`.
#[derive(Debug, Args)]
pub struct TenantPage {
    #[command(flatten)]
    pub tenant: TenantArg,
    #[command(flatten)]
    pub paging: PageArgs,
}

impl PageArgs {
    /// The checked paging (a bad value is a usage error, exit 2, before any work).
    pub fn paging(&self) -> Result<crate::service::Paging> {
        crate::service::Paging::new(self.page, self.page_size)
    }
}

/// `LRT_OUTPUT`, checked: a value that is not a format is an error, not "table".
fn env_output() -> Result<Option<Format>> {
    let Some(raw) = ProcessEnv.get("LRT_OUTPUT") else {
        return Ok(None);
    };
    <Format as clap::ValueEnum>::from_str(raw.trim(), true)
        .map(Some)
        .map_err(|_| crate::error::Error::Usage(format!("LRT_OUTPUT: expected table, json or tsv, got {raw:?}")))
}

/// `LRT_NO_INPUT`, checked as a boolean.
fn env_no_input() -> Result<bool> {
    ProcessEnv
        .get("LRT_NO_INPUT")
        .map_or(Ok(false), |raw| config::parse_bool("LRT_NO_INPUT", &raw))
}

/// Whether a command line that failed to parse asked for JSON, so its usage error is
/// reported as JSON too.
/// A tenant named by the argument or by `-t/--tenant` (alike, as on every other command),
/// else `LRT_TENANT`.
#[derive(Debug, Clone, Args)]
pub struct TenantIdent {
    /// Tenant id or name [env: LRT_TENANT]
    #[arg(value_name = "TENANT", add = complete::tenants())]
    pub tenant: Option<String>,
    /// Same as the TENANT argument
    #[arg(long = "tenant", short = 't', value_name = "TENANT", conflicts_with = "tenant", add = complete::tenants())]
    pub tenant_flag: Option<String>,
}

impl TenantIdent {
    /// The tenant named, if any.
    pub fn resolved(&self) -> Option<String> {
        tenant_or_env(&self.tenant.clone().or_else(|| self.tenant_flag.clone()))
    }

    /// The tenant named; a usage error when there is none.
    pub fn required(&self) -> Result<String> {
        self.resolved().ok_or_else(|| {
            crate::error::Error::Usage(
                "no tenant named: pass it as an argument or with -t/--tenant (or set LRT_TENANT)".into(),
            )
        })
    }
}

fn wants_json(args: &[OsString]) -> bool {
    let mut prev_is_o = false;
    let mut json = matches!(env_output(), Ok(Some(Format::Json)));
    for arg in args.iter().map(|a| a.to_string_lossy()) {
        match arg.as_ref() {
            "--json" | "--output=json" | "-ojson" => json = true,
            "--output=table" | "-otable" | "--output=tsv" | "-otsv" => json = false,
            "json" if prev_is_o => json = true,
            "table" | "tsv" if prev_is_o => json = false,
            _ => {}
        }
        prev_is_o = arg == "-o" || arg == "--output";
    }
    json
}

/// The colour choice for clap's help and errors, read before parsing: the last `--color`,
/// else NO_COLOR (never) and CLICOLOR_FORCE (always), else auto.
fn color_choice(args: &[OsString]) -> clap::ColorChoice {
    let mut choice = None;
    let mut prev_is_color = false;
    for arg in args.iter().map(|a| a.to_string_lossy()) {
        let value = arg
            .strip_prefix("--color=")
            .or(if prev_is_color { Some(arg.as_ref()) } else { None });
        match value {
            Some("always") => choice = Some(clap::ColorChoice::Always),
            Some("never") => choice = Some(clap::ColorChoice::Never),
            Some("auto") => choice = Some(clap::ColorChoice::Auto),
            _ => {}
        }
        prev_is_color = arg == "--color";
    }
    choice.unwrap_or_else(|| {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            clap::ColorChoice::Never
        } else if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
            clap::ColorChoice::Always
        } else {
            clap::ColorChoice::Auto
        }
    })
}

/// A usage error in full (what is missing or wrong, the possible values, the usage line),
/// for JSON mode, plus a hint when `-o` was given a file name.
fn usage_message(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind as Clap};
    let full = e.render().to_string();
    let mut text = full
        .trim()
        .trim_start_matches("error: ")
        .lines()
        .filter(|l| !l.starts_with("For more information, try"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string();
    if e.kind() == Clap::InvalidValue
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && arg.starts_with("--output")
    {
        text.push_str(
            "\n\nhint: -o/--output chooses the output format (table, json, tsv); commands that write a file take --out FILE (-O FILE)",
        );
    }
    text
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    if let Some(code) = complete::try_complete(&args) {
        return code;
    }
    let parsed = Cli::command()
        .color(color_choice(&args))
        .try_get_matches_from(&args)
        .and_then(|mut m| <Cli as clap::FromArgMatches>::from_arg_matches_mut(&mut m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind as Clap;
            if matches!(e.kind(), Clap::DisplayHelp | Clap::DisplayVersion) {
                let _ = output::write_stdout(e.render().ansi().to_string().as_bytes());
                return 0;
            }
            let json = wants_json(&args);
            let message = usage_message(&e);
            if json {
                return output::report_error(true, ErrorKind::Usage, &message);
            }
            let _ = e.print();
            if let Some(at) = message.find("\n\nhint: ") {
                let _ = writeln!(std::io::stderr(), "{}", &message[at + 2..]);
            }
            return e.exit_code();
        }
    };
    let explicit = match (cli.global.json, cli.global.output) {
        (true, Some(f)) if f != Format::Json => Err("--json and -o/--output name different formats"),
        (true, _) => Ok(Some(Format::Json)),
        (false, f) => Ok(f),
    };
    let explicit = match explicit {
        Ok(Some(f)) if cli.global.quiet => Err(if f == Format::Json {
            "--json (or -o json) and -q/--quiet ask for different outputs; choose one"
        } else {
            "-o/--output and -q/--quiet ask for different outputs; choose one"
        }),
        other => other,
    };
    let checked = explicit
        .map_err(|m| crate::error::Error::Usage(m.to_string()))
        .and_then(|f| {
            let from_env = env_output()?;
            env_no_input()?;
            // A flag beats the environment: -q overrides LRT_OUTPUT=json.
            Ok(f.or(if cli.global.quiet { None } else { from_env }))
        });
    let format = match checked {
        Ok(f) => f.unwrap_or(Format::Table),
        Err(err) => return output::report_error(cli.global.json || wants_json(&args), err.kind(), &err.to_string()),
    };
    output::set_table_style(format == Format::Tsv, !cli.global.no_headers);
    let out = Out {
        format,
        quiet: cli.global.quiet,
    };
    let ctx = Ctx {
        out,
        global: cli.global,
    };
    let result = match cli.command {
        Command::Init(args) => setup::init(&ctx, args),
        Command::Config(cmd) => setup::config(&ctx, cmd),
        Command::Db(cmd) => db::exec(&ctx, cmd),
        Command::Quickstart => setup::quickstart(&ctx),
        Command::Whoami => admin::whoami(&ctx),
        Command::Use(args) => admin::use_context(&ctx, args),
        Command::Ingest(args) => ingest::exec(&ctx, args),
        Command::Query(args) => query::exec(&ctx, args),
        Command::Chat(args) => chat::exec(&ctx, args),
        Command::Doc(cmd) => doc::exec(&ctx, cmd),
        Command::Graph(cmd) => graph::exec(&ctx, cmd),
        Command::Audit(cmd) => admin::audit(&ctx, cmd),
        Command::Auth(cmd) => admin::auth(&ctx, cmd),
        Command::Usage(args) => usage::exec(&ctx, args),
        Command::Tenant(cmd) => tenant::exec(&ctx, cmd),
        Command::Kb(cmd) => kb::exec(&ctx, cmd),
        Command::Member(cmd) => member::exec(&ctx, cmd),
        Command::Serve(args) => serve::serve(&ctx, args),
        Command::Mcp(args) => mcp::exec(&ctx, args),
        Command::Token(cmd) => serve::token(&ctx, cmd),
        Command::Key(cmd) => key::exec(&ctx, cmd),
        Command::Debug(cmd) => debug::exec(&ctx, cmd),
        Command::Doctor(args) => doctor::exec(&ctx, args),
        Command::Completions(args) => docs::completions(args),
        Command::Man(args) => docs::man(args),
        Command::Help(args) => docs::help(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => ctx.out.error(&err),
    }
}

/// The clap command tree (for completions, man pages and tests).
pub fn command() -> clap::Command {
    Cli::command()
}
