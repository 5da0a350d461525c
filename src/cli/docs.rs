//! Completions, man pages and help topics, all generated from the one clap definition.

use std::path::PathBuf;

use clap::Args;
use clap_complete::Shell;

use crate::error::{Error, ErrorKind, Result, StorageContext};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lrt completions bash > ~/.local/share/bash-completion/completions/lrt\n  lrt completions zsh > ~/.zfunc/_lrt\n  lrt completions --dir completions"
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
left and the reset time (`usage` in --json). Administration commands are not API calls."
        .to_string()
}

pub fn completions(args: CompletionsArgs) -> Result<i32> {
    let mut cmd = super::command();
    match (args.shell, args.dir) {
        (Some(shell), _) => clap_complete::generate(shell, &mut cmd, "lrt", &mut std::io::stdout()),
        (None, Some(dir)) => {
            std::fs::create_dir_all(&dir).storage_ctx(|| format!("cannot create {}", dir.display()))?;
            for shell in SHELLS {
                clap_complete::generate_to(shell, &mut cmd, "lrt", &dir)
                    .storage_ctx(|| format!("cannot write completions into {}", dir.display()))?;
            }
        }
        (None, None) => unreachable!("clap requires one"),
    }
    Ok(0)
}

pub fn man(args: ManArgs) -> Result<i32> {
    let cmd = super::command();
    match args.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).storage_ctx(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .storage_ctx(|| format!("cannot write man pages into {}", dir.display()))?;
        }
        None => clap_mangen::Man::new(cmd)
            .render(&mut std::io::stdout())
            .storage_ctx(|| "cannot write the man page")?,
    }
    Ok(0)
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
    current.print_long_help().storage_ctx(|| "cannot print help")?;
    Ok(0)
}
