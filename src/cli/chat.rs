//! `lrt chat`: questions to one KB in a session. Each answer streams, then its cited files
//! are listed; the turns so far go to the model as history, as `lrt query --history` sends
//! them. On a terminal lines are edited with rustyline (arrows, history, Ctrl-R); from a pipe
//! or file each line is one input, so sessions can be scripted and tested.

use std::io::{IsTerminal, Write};
use std::path::Path;

use clap::Args;

use super::output::escape_controls;
use super::query::{ModeArg, RerankArg, save_turns};
use super::{Ctx, TenantArg, kb_or_env};
use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::llm::Message;
use crate::rag::query::{QueryParams, QueryResult};
use crate::service::{QueryInput, Service};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt chat --tenant acme --kb docs\n  lrt chat --mode local\n  printf 'Who founded Kestrel?\\nWhere is it based?\\n/save chat.json\\n' | lrt chat\n\n\
In a session:\n  /mode [MODE]     show or set the retrieval mode (naive, local, global, hybrid, mix, bypass)\n  \
/kb KB           switch to another knowledge base of the tenant (starts a new conversation)\n  \
/context QUESTION  show the context retrieved for QUESTION instead of answering\n  \
/reset           forget the conversation so far\n  /save FILE       write the conversation as a --history file\n  \
/help            this list\n  /quit            leave (also Ctrl-D)\n\nEach question is one API call against the tenant's max_monthly_api_calls."
)]
pub struct ChatArgs {
    #[command(flatten)]
    pub tenant: TenantArg,
    /// Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]
    #[arg(long, add = super::complete::kbs())]
    pub kb: Option<String>,
    /// Retrieval mode to start with (`/mode` changes it)
    #[arg(long, value_enum, default_value_t = ModeArg::Mix)]
    pub mode: ModeArg,
    #[command(flatten)]
    pub rerank: RerankArg,
}

/// What one line of input asks for.
#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Ask(&'a str),
    Mode(Option<&'a str>),
    Kb(&'a str),
    Context(&'a str),
    Reset,
    Save(&'a str),
    Help,
    Quit,
    Unknown(&'a str),
}

fn parse(line: &str) -> Line<'_> {
    let Some(command) = line.strip_prefix('/') else {
        return Line::Ask(line);
    };
    let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let rest = rest.trim();
    match (name, rest.is_empty()) {
        ("mode", true) => Line::Mode(None),
        ("mode", false) => Line::Mode(Some(rest)),
        ("kb", false) => Line::Kb(rest),
        ("context", false) => Line::Context(rest),
        ("reset", true) => Line::Reset,
        ("save", false) => Line::Save(rest),
        ("help", _) => Line::Help,
        ("quit" | "exit", true) => Line::Quit,
        _ => Line::Unknown(line),
    }
}

/// Where lines come from: rustyline on a terminal, plain lines otherwise.
enum Input {
    Editor(Box<rustyline::DefaultEditor>),
    Lines(std::io::Lines<std::io::StdinLock<'static>>),
}

impl Input {
    fn open() -> Result<Input> {
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            let editor = rustyline::DefaultEditor::new()
                .map_err(|e| Error::Internal(format!("cannot start line editing: {e}")))?;
            return Ok(Input::Editor(Box::new(editor)));
        }
        Ok(Input::Lines(std::io::BufRead::lines(std::io::stdin().lock())))
    }

    /// The next line; `None` at the end of input (Ctrl-D). Ctrl-C at the prompt clears it.
    fn next(&mut self, prompt: &str) -> Result<Option<String>> {
        match self {
            Input::Editor(editor) => loop {
                match editor.readline(prompt) {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        return Ok(Some(line));
                    }
                    Err(rustyline::error::ReadlineError::Interrupted) => continue,
                    Err(rustyline::error::ReadlineError::Eof) => return Ok(None),
                    Err(e) => return Err(Error::Internal(format!("cannot read a line: {e}"))),
                }
            },
            Input::Lines(lines) => match lines.next() {
                None => Ok(None),
                Some(Ok(line)) => Ok(Some(line)),
                Some(Err(e)) => Err(Error::Usage(format!("cannot read stdin: {e}"))),
            },
        }
    }
}

/// The session's state.
struct Session {
    tenant: Option<String>,
    kb: Option<String>,
    mode: ModeArg,
    /// `--rerank` / `--no-rerank`, for every question of the session.
    rerank: Option<bool>,
    history: Vec<Message>,
}

fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", escape_controls(text));
    let _ = out.flush();
}

pub fn exec(ctx: &Ctx, args: ChatArgs) -> Result<i32> {
    if ctx.out.is_json() || ctx.out.quiet || ctx.out.format != super::output::Format::Table {
        return Err(Error::Usage(
            "lrt chat is a conversation for people; scripts use `lrt query --json --history FILE --save-history`"
                .into(),
        ));
    }
    let mut svc = ctx.service()?;
    let actor = ctx.actor(&svc)?;
    let mut session = Session {
        tenant: args.tenant.resolved(),
        kb: kb_or_env(&args.kb),
        mode: args.mode,
        rerank: args.rerank.choice(),
        history: Vec::new(),
    };
    // The KB is checked before the first question, so a wrong name fails at once.
    let kb = svc.show_kb(&actor, session.tenant.as_deref(), session.kb.as_deref())?;
    session.tenant = Some(kb.tenant_id.clone());
    session.kb = Some(kb.kb_id.clone());
    let mut label = kb.kb_name.clone();
    ctx.out.note(&format!(
        "Chatting with knowledge base '{}' ({} mode). /help lists the commands, /quit or Ctrl-D leaves.",
        kb.kb_name,
        mode_name(session.mode)
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let mut input = Input::open()?;
    while let Some(raw) = input.next(&format!("{label}> "))? {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match parse(line) {
            Line::Quit => break,
            Line::Help => say(HELP),
            Line::Reset => {
                session.history.clear();
                say("(conversation forgotten)");
            }
            Line::Mode(None) => say(&format!("mode: {}", mode_name(session.mode))),
            Line::Mode(Some(name)) => match <ModeArg as clap::ValueEnum>::from_str(name, true) {
                Ok(mode) => {
                    session.mode = mode;
                    say(&format!("mode: {}", mode_name(mode)));
                }
                Err(_) => say(&format!(
                    "error: unknown mode {name:?}; modes are naive, local, global, hybrid, mix, bypass"
                )),
            },
            Line::Kb(name) => match svc.show_kb(&actor, session.tenant.as_deref(), Some(name)) {
                Ok(kb) => {
                    session.kb = Some(kb.kb_id.clone());
                    session.history.clear();
                    label = kb.kb_name.clone();
                    say(&format!("knowledge base: {} (a new conversation)", kb.kb_name));
                }
                Err(e) => say(&format!("error: {e}")),
            },
            Line::Save(file) => match save_turns(Path::new(file), &session.history) {
                Ok(()) => say(&format!("saved {} turns to {file}", session.history.len() / 2)),
                Err(e) => say(&format!("error: {e}")),
            },
            Line::Unknown(text) => say(&format!("error: unknown command {text:?}; /help lists them")),
            Line::Context(question) => {
                if let Err(e) = ask(&runtime, &mut svc, &actor, &session, question, true) {
                    say(&format!("error: {e}"));
                }
            }
            Line::Ask(question) => match ask(&runtime, &mut svc, &actor, &session, question, false) {
                Ok(result) => {
                    if let Some(answer) = result.answer {
                        session.history.push(Message::user(question));
                        session.history.push(Message::assistant(answer));
                    }
                }
                Err(Error::Interrupted(_)) => say("(interrupted)"),
                Err(e) => say(&format!("error: {e}")),
            },
        }
    }
    Ok(0)
}

const HELP: &str = "/mode [MODE]  /kb KB  /context QUESTION  /reset  /save FILE  /help  /quit";

fn mode_name(mode: ModeArg) -> String {
    clap::ValueEnum::to_possible_value(&mode)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// Asks one question with the conversation so far, streaming the answer to stdout, then
/// lists the files it cites (or, with `only_context`, prints the retrieved context).
fn ask(
    runtime: &tokio::runtime::Runtime,
    svc: &mut Service,
    actor: &Actor,
    session: &Session,
    question: &str,
    only_context: bool,
) -> Result<QueryResult> {
    let mut params = QueryParams::new(question.to_string(), session.mode.into());
    params.history = session.history.clone();
    params.only_context = only_context;
    params.stream = !only_context;
    params.enable_rerank = session.rerank;
    let input = QueryInput {
        params,
        top_k: None,
        chunk_top_k: None,
        no_cache: false,
    };
    let mut print_piece = |piece: &str| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(escape_controls(piece).as_bytes());
        let _ = out.flush();
    };
    let (tenant, kb) = (session.tenant.as_deref(), session.kb.as_deref());
    let (_, result) = runtime.block_on(async {
        tokio::select! {
            r = svc.query(actor, tenant, kb, input, Some(&mut print_piece)) => r,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted("interrupted".into())),
        }
    })?;
    if let Some(context) = &result.context {
        say(if context.is_empty() {
            "(no context was found for this question)"
        } else {
            context
        });
    } else if result.streamed {
        say("");
    } else if let Some(answer) = &result.answer {
        say(answer);
    }
    let cited: Vec<String> = result
        .references
        .iter()
        .filter(|r| r.cited == Some(true))
        .map(|r| format!("[{}] {}", r.reference_id, r.file_path))
        .collect();
    if !cited.is_empty() {
        say(&format!("sources: {}", cited.join(", ")));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_questions_or_commands() {
        assert_eq!(parse("Who is Ada?"), Line::Ask("Who is Ada?"));
        assert_eq!(parse("/mode"), Line::Mode(None));
        assert_eq!(parse("/mode  local "), Line::Mode(Some("local")));
        assert_eq!(parse("/kb other docs"), Line::Kb("other docs"));
        assert_eq!(parse("/context What is SeaGrid?"), Line::Context("What is SeaGrid?"));
        assert_eq!(parse("/save chat.json"), Line::Save("chat.json"));
        assert_eq!(parse("/reset"), Line::Reset);
        assert_eq!(parse("/exit"), Line::Quit);
        assert_eq!(parse("/save"), Line::Unknown("/save"));
        assert_eq!(parse("/frobnicate"), Line::Unknown("/frobnicate"));
    }
}
