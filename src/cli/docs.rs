//! Completions, man pages and help topics, all generated from the one clap definition.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::error::{Error, ErrorKind, Result, StorageContext};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt completions bash > ~/.local/share/bash-completion/completions/lrt\n  lrt completions zsh > ~/.zfunc/_lrt\n  lrt completions --dir completions\n\n\
    The script registers lrt with the shell; at each TAB the shell asks the installed lrt\n\
    (COMPLETE=SHELL lrt -- WORDS), which completes commands and flags, and the tenant and\n\
    KB names you can see (read from the catalog; nothing when there is none yet)."
)]
pub struct CompletionsArgs {
    #[arg(value_enum, required_unless_present = "dir")]
    pub shell: Option<Shell>,
    /// Write completions for every shell into DIR
    #[arg(long, value_name = "DIR", conflicts_with = "shell")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  lrt man | man -l -\n  lrt man --dir man")]
pub struct ManArgs {
    /// Write lrt.1 and one page per subcommand into DIR
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HelpArgs {
    /// A command path (`tenant create`) or a topic (`exit-codes`, `quotas`)
    pub topic: Vec<String>,
}

/// Every shell lrt ships completions for.
pub const SHELLS: [Shell; 5] = [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell, Shell::Elvish];

/// The exit-code table, for `--help`, the man page and `lrt help exit-codes`.
pub fn exit_codes_text() -> String {
    let mut text = String::from("EXIT CODES:\n    0    success (`auth can-i`: yes)\n");
    for kind in ErrorKind::ALL {
        text.push_str(&format!(
            "    {:<4} {} [{}]\n",
            kind.exit_code(),
            kind.description(),
            kind.as_str()
        ));
    }
    text.push_str("    `lrt auth can-i` exits 1 for \"no\".\n");
    text.push_str(
        "\nWith --json, errors are printed on stderr as {\"error\": {\"kind\", \"message\", \"exit_code\"}}.",
    );
    text
}

/// What each tenant quota limits and when it is checked, for `lrt help quotas`.
pub fn quotas_text() -> String {
    "QUOTAS (per tenant; change them with `lrt tenant update T --set KEY=N`, super-admins only):
    max_kb_per_tenant        knowledge bases; checked by `kb create`
    max_documents            documents over all KBs; checked by `ingest` before anything is written
    max_storage_gb           size of the tenant's KB folders; checked by `ingest`
    max_entities_per_kb      entities per KB; checked while merging
    max_relationships_per_kb relations per KB; checked while merging
    max_monthly_api_calls    API calls per calendar month (UTC)
    max_monthly_tokens       model tokens per calendar month (UTC); 0 (the default): no limit
    max_concurrent_queries   queries running at once in `lrt serve`; the excess is refused at once

Exit code 7 for all of them. Over HTTP (`lrt serve`) the capacity quotas (KBs, documents,
storage, entities, relations) answer 403 with code quota_exceeded, and the rate quotas
(monthly calls, concurrent queries) 429 with code rate_limited and a Retry-After header.

One API call is one `lrt query` or one `lrt ingest` run, whatever the number of documents
(`lrt quickstart` makes one of each), or one `lrt serve` request to a KB's documents, query or
graph routes; the CLI's `doc` and `graph` commands are not counted. A call is counted when it is admitted, after the access
check and before any work, so a call that then fails still counts. Over the quota a command
fails with exit code 7 before doing anything, and says when the quota resets: the first day of
the next month, 00:00 UTC. `lrt tenant show T` prints this month's calls, the quota, what is
left and the reset time (`usage` in --json). Administration commands are not API calls.

Tokens are what the model servers report in their `usage` (counted with lrt's tokenizer when a
server reports none), per tenant, KB and month; answers from the LLM cache cost none and the
offline `local` provider is not metered. `max_monthly_tokens` is checked when a call is
admitted: a query or ingest run that starts under it runs to its end, the next one is refused.
`lrt usage` reports them per KB and month (needs tenant:manage_billing)."
        .to_string()
}

pub fn completions(args: CompletionsArgs) -> Result<i32> {
    match (args.shell, args.dir) {
        (Some(shell), _) => {
            super::output::write_stdout(&registration(shell)?).storage_ctx(|| "cannot write the completions")?;
        }
        (None, Some(dir)) => {
            std::fs::create_dir_all(&dir).storage_ctx(|| format!("cannot create {}", dir.display()))?;
            for shell in SHELLS {
                let file = dir.join(clap_complete::Generator::file_name(&shell, "lrt"));
                std::fs::write(&file, registration(shell)?)
                    .storage_ctx(|| format!("cannot write completions into {}", dir.display()))?;
            }
        }
        (None, None) => unreachable!("clap requires one"),
    }
    Ok(0)
}

/// The script that registers `lrt` with `shell`: at each TAB the shell asks `lrt` itself
/// (`COMPLETE=SHELL lrt -- WORDS…`, see [`super::complete`]), so commands, flags and the
/// tenant and KB names the user can see are completed by the installed binary.
fn registration(shell: Shell) -> Result<Vec<u8>> {
    use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::PowerShell => &Powershell,
        Shell::Elvish => &Elvish,
        other => return Err(Error::Usage(format!("no completions for {other}"))),
    };
    let mut text = Vec::new();
    completer
        .write_registration(super::complete::VAR, "lrt", "lrt", "lrt", &mut text)
        .storage_ctx(|| "cannot render the completions")?;
    Ok(text)
}

pub fn man(args: ManArgs) -> Result<i32> {
    let cmd = super::command();
    let mut page = Vec::new();
    render_main_page(cmd.clone(), &mut page).storage_ctx(|| "cannot render the man page")?;
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).storage_ctx(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .storage_ctx(|| format!("cannot write man pages into {}", dir.display()))?;
            std::fs::write(dir.join("lrt.1"), &page)
                .storage_ctx(|| format!("cannot write man pages into {}", dir.display()))?;
        }
        None => super::output::write_stdout(&page).storage_ctx(|| "cannot write the man page")?,
    }
    Ok(0)
}

/// The environment variables lrt reads, for the man page's ENVIRONMENT section.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("LRT_CONFIG", "The config file (default ~/.config/lrt/config.toml)."),
    ("LRT_DATA_DIR", "The data directory (default ~/.local/share/lrt)."),
    (
        "LRT_USER",
        "The local identity; else identity.user in the config file, else USER, LOGNAME or the OS account name.",
    ),
    (
        "LRT_TENANT, LRT_KB",
        "The tenant and KB of commands that name none (before the `lrt use` context).",
    ),
    ("LRT_OUTPUT", "table, json or tsv; any other value is an error."),
    (
        "LRT_NO_INPUT",
        "1/true/yes/on: never prompt (like --no-input); any value that is not a boolean is an error.",
    ),
    ("LRT_LOG, RUST_LOG", "The log filter of `lrt serve` (default info)."),
    (
        "ENABLE_MULTI_TENANTS, LIGHTRAG_MULTI_TENANT_STRICT, LIGHTRAG_REQUIRE_USER_AUTH, LIGHTRAG_SUPER_ADMIN_USERS",
        "Multi-tenancy settings of the LightRAG multi-tenancy guide.",
    ),
    (
        "TOKEN_SECRET, JWT_ALGORITHM, TOKEN_EXPIRE_HOURS",
        "Bearer tokens of `lrt serve` and `lrt token issue`.",
    ),
    (
        "LLM_BINDING, LLM_MODEL, LLM_BINDING_HOST, LLM_BINDING_API_KEY, EMBEDDING_BINDING, EMBEDDING_MODEL, EMBEDDING_DIM",
        "The model providers (default: the offline local provider); `lrt config list` shows all settings.",
    ),
    (
        "NO_COLOR, CLICOLOR_FORCE",
        "Colour in help and error messages (see --color).",
    ),
];

/// `lrt.1`: clap's sections plus ENVIRONMENT, FILES and EXIT STATUS.
fn render_main_page(cmd: clap::Command, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap_mangen::roff::{Roff, bold, roman};
    let man = clap_mangen::Man::new(cmd);
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;
    man.render_subcommands_section(w)?;
    let mut roff = Roff::default();
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "Flags win over the environment, the environment over the config file.",
    )]);
    for (name, what) in ENVIRONMENT {
        roff.control("TP", []).text([bold(*name)]).text([roman(*what)]);
    }
    roff.control("SH", ["FILES"]);
    for (name, what) in [
        (
            "~/.config/lrt/config.toml",
            "The configuration written by `lrt init` (XDG_CONFIG_HOME).",
        ),
        (
            "~/.local/share/lrt/catalog.db",
            "Tenants, KBs, members, keys, quotas and the audit log (XDG_DATA_HOME).",
        ),
        (
            "~/.local/share/lrt/tenants/TENANT_UUID/kbs/KB_UUID/",
            "One knowledge base: kb.db and its vector indexes.",
        ),
    ] {
        roff.control("TP", []).text([bold(name)]).text([roman(what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    roff.control("TP", [])
        .text([bold("0")])
        .text([roman("success (`auth can-i`: yes)")]);
    for kind in ErrorKind::ALL {
        roff.control("TP", [])
            .text([bold(kind.exit_code().to_string())])
            .text([roman(format!("{} [{}]", kind.description(), kind.as_str()))]);
    }
    roff.text([roman(
        "`lrt auth can-i` exits 1 for no. With --json, errors are printed on stderr as {\"error\": {\"kind\", \"message\", \"exit_code\"}}.",
    )]);
    roff.to_writer(w)?;
    man.render_version_section(w)
}

pub fn help(args: HelpArgs) -> Result<i32> {
    if args.topic == ["exit-codes"] {
        super::output::print_line(&exit_codes_text());
        return Ok(0);
    }
    if args.topic == ["quotas"] {
        super::output::print_line(&quotas_text());
        return Ok(0);
    }
    let mut cmd = super::command();
    cmd.build();
    let mut current = &mut cmd;
    for word in &args.topic {
        current = current.find_subcommand_mut(word).ok_or_else(|| {
            Error::Usage(format!(
                "no help topic or command {:?}; try `lrt help`, `lrt help exit-codes` or `lrt help quotas`",
                args.topic.join(" ")
            ))
        })?;
    }
    let help = current.render_long_help().to_string();
    super::output::write_stdout(help.as_bytes()).storage_ctx(|| "cannot print help")?;
    Ok(0)
}
