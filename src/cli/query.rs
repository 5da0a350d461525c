//! `lrt query "QUESTION"`

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;

use super::output::{print_human, print_line};
use super::{Ctx, TenantArg, kb_or_env};
use crate::error::{Error, Result, StorageContext};
use crate::llm::Message;
use crate::rag::keywords;
use crate::rag::query::{QueryMode, QueryParams, QueryResult};
use crate::service::QueryInput;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt query --tenant acme --kb docs \"What did Marie Curie discover?\"\n  \
lrt query --mode local --ll-keywords 'Marie Curie' \"Who was she?\"\n  \
lrt query --only-context --json \"How is NASA funded?\"\n  \
lrt query --history chat.json --save-history --stream \"And after that?\"\n  \
echo \"What is SeaGrid?\" | lrt query -\n\nEach run is one API call against the tenant's max_monthly_api_calls (`lrt help quotas`)."
)]
pub struct QueryArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(long, add = super::complete::kbs())]
    pub kb: Option<String>,
    /// The question; `-` reads it from stdin
    #[arg(value_name = "QUESTION")]
    pub question: String,
    /// Retrieval mode
    #[arg(long, value_enum, default_value_t = ModeArg::Mix)]
    pub mode: ModeArg,
    /// Entities (local) or relations (global) taken from the vector search [default: the KB's top_k]
    #[arg(long, value_name = "N")]
    pub top_k: Option<usize>,
    /// Chunks taken from the vector search, and the most chunks in the context [default: the KB's chunk_top_k]
    #[arg(long, value_name = "N")]
    pub chunk_top_k: Option<usize>,
    /// Token budget of the entity list
    #[arg(long, value_name = "N", default_value_t = 6000)]
    pub max_entity_tokens: usize,
    /// Token budget of the relation list
    #[arg(long, value_name = "N", default_value_t = 8000)]
    pub max_relation_tokens: usize,
    /// Token budget of the whole prompt; chunks get what entities and relations leave
    #[arg(long, value_name = "N", default_value_t = 30000)]
    pub max_total_tokens: usize,
    /// The form of the answer, e.g. "Bullet Points"
    #[arg(long, value_name = "TEXT", default_value = "Multiple Paragraphs")]
    pub response_type: String,
    /// Extra instructions for the answer
    #[arg(long, value_name = "TEXT")]
    pub user_prompt: Option<String>,
    /// High-level keywords, comma-separated (skips keyword extraction)
    #[arg(long, value_name = "K1,K2")]
    pub hl_keywords: Option<String>,
    /// Low-level keywords, comma-separated (skips keyword extraction)
    #[arg(long, value_name = "K1,K2")]
    pub ll_keywords: Option<String>,
    /// Earlier turns: a JSON array of {"role": "user"|"assistant"|"system", "content": "…"}
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Append this question and its answer to the --history file (created if missing)
    #[arg(long, requires = "history", conflicts_with_all = ["only_context", "only_prompt"])]
    pub save_history: bool,
    /// Print the retrieved context instead of answering
    #[arg(long, conflicts_with = "only_prompt")]
    pub only_context: bool,
    /// Print the full prompt instead of answering
    #[arg(long)]
    pub only_prompt: bool,
    /// Print the answer as the model writes it
    #[arg(long)]
    pub stream: bool,
    /// Neither read nor write the LLM cache
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub rerank: RerankArg,
}

/// `--rerank` / `--no-rerank` (upstream's `enable_rerank`); the last one given wins.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct RerankArg {
    /// Rerank the retrieved chunks with the configured reranker (RERANK_BINDING) [default: the KB's enable_rerank, else RERANK_BY_DEFAULT]
    #[arg(long, overrides_with = "no_rerank")]
    pub rerank: bool,
    /// Keep the retrieved chunks in retrieval order
    #[arg(long, overrides_with = "rerank")]
    pub no_rerank: bool,
}

impl RerankArg {
    /// The query's `enable_rerank`: `None` when neither flag was given.
    pub fn choice(self) -> Option<bool> {
        match (self.rerank, self.no_rerank) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// The `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// Chunk vectors only
    Naive,
    /// Entities found by low-level keywords, and their relations
    Local,
    /// Relations found by high-level keywords, and their entities
    Global,
    /// Local and global together
    Hybrid,
    /// Hybrid plus chunk vectors
    Mix,
    /// No retrieval: ask the model directly
    Bypass,
}

impl From<ModeArg> for QueryMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Naive => QueryMode::Naive,
            ModeArg::Local => QueryMode::Local,
            ModeArg::Global => QueryMode::Global,
            ModeArg::Hybrid => QueryMode::Hybrid,
            ModeArg::Mix => QueryMode::Mix,
            ModeArg::Bypass => QueryMode::Bypass,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Turn {
    role: String,
    content: String,
}

/// Reads a `--history` file: a JSON array of `{role, content}` turns. With `may_be_new`
/// (`--save-history`), a file that does not exist yet is an empty history.
fn read_history(path: &Path, may_be_new: bool) -> Result<Vec<Message>> {
    let bad = |why: String| Error::Usage(format!("invalid --history file {}: {why}", path.display()));
    let text = match std::fs::read_to_string(path) {
        Err(e) if may_be_new && e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        other => other.map_err(|e| bad(e.to_string()))?,
    };
    let turns: Vec<Turn> = serde_json::from_str(&text).map_err(|e| {
        bad(format!(
            "{e}; expected a JSON array of {{\"role\", \"content\"}} objects"
        ))
    })?;
    turns
        .into_iter()
        .map(|t| match t.role.as_str() {
            "user" => Ok(Message::user(t.content)),
            "assistant" => Ok(Message::assistant(t.content)),
            "system" => Ok(Message::system(t.content)),
            other => Err(bad(format!(
                "unknown role {other:?}; roles are user, assistant, system"
            ))),
        })
        .collect()
}

/// Writes the history back with the new turn, atomically (a temporary file renamed over it).
fn save_history(path: &Path, history: &[Message], question: &str, answer: &str) -> Result<()> {
    let mut turns = history.to_vec();
    turns.push(Message::user(question));
    turns.push(Message::assistant(answer));
    save_turns(path, &turns)
}

/// Writes turns as a `--history` file, atomically (a temporary file renamed over it).
pub(super) fn save_turns(path: &Path, turns: &[Message]) -> Result<()> {
    let text = serde_json::to_string_pretty(&turns).expect("turns serialize") + "\n";
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let what = || format!("cannot save the history to {}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).storage_ctx(what)?;
    tmp.write_all(text.as_bytes()).storage_ctx(what)?;
    tmp.persist(path).map_err(|e| e.error).storage_ctx(what)?;
    Ok(())
}

/// The question argument, or with `-` the whole of stdin (trimmed).
fn question_of(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| Error::Usage(format!("cannot read the question from stdin: {e}")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::Usage("the question read from stdin is empty".into()));
    }
    Ok(text.to_string())
}

pub fn exec(ctx: &Ctx, args: QueryArgs) -> Result<i32> {
    let history = match &args.history {
        Some(path) => read_history(path, args.save_history)?,
        None => Vec::new(),
    };
    let question = question_of(&args.question)?;
    let mut params = QueryParams::new(question.clone(), args.mode.into());
    params.max_entity_tokens = args.max_entity_tokens;
    params.max_relation_tokens = args.max_relation_tokens;
    params.max_total_tokens = args.max_total_tokens;
    params.response_type = args.response_type.clone();
    params.user_prompt = args.user_prompt.clone();
    params.hl_keywords = args.hl_keywords.as_deref().map(keywords::from_flag).unwrap_or_default();
    params.ll_keywords = args.ll_keywords.as_deref().map(keywords::from_flag).unwrap_or_default();
    params.history = history.clone();
    params.only_context = args.only_context;
    params.only_prompt = args.only_prompt;
    params.stream = args.stream;
    params.enable_rerank = args.rerank.choice();
    let input = QueryInput {
        params,
        top_k: args.top_k,
        chunk_top_k: args.chunk_top_k,
        no_cache: args.no_cache,
    };

    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let (tenant, kb) = (args.tenant.resolved(), kb_or_env(&args.kb));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    // Streamed pieces go straight to the terminal; in JSON mode the answer is collected.
    let mut print_piece = |piece: &str| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(super::output::escape_controls(piece).as_bytes());
        let _ = out.flush();
    };
    let sink: Option<&mut dyn FnMut(&str)> = if ctx.out.is_json() {
        None
    } else {
        Some(&mut print_piece)
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = svc.query(&actor, tenant.as_deref(), kb.as_deref(), input, sink) => r,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted("interrupted".into())),
        }
    });
    let (_, result) = result?;
    if args.save_history
        && let (Some(path), Some(answer)) = (&args.history, &result.answer)
    {
        save_history(path, &history, &question, answer)?;
    }
    render(ctx, &result);
    Ok(0)
}

fn render(ctx: &Ctx, result: &QueryResult) {
    if ctx.out.is_json() {
        print_line(&serde_json::to_string_pretty(result).expect("results serialize"));
        return;
    }
    for w in &result.warnings {
        ctx.out.note(&format!("warning: {w}"));
    }
    if let Some(prompt) = &result.prompt {
        print_human(prompt);
    } else if let Some(context) = &result.context {
        if context.is_empty() {
            ctx.out
                .note("No context was found for this question: nothing in the knowledge base matched it.");
        }
        print_human(context);
    } else if result.streamed {
        // The pieces are out already; end the line (a closed pipe is not an error).
        let _ = writeln!(std::io::stdout());
    } else if let Some(answer) = &result.answer {
        print_human(answer);
    }
}
