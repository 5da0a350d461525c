//! Confirmation of destructive commands: `--yes`, or a prompt on a terminal; never a hang.

use std::io::IsTerminal;

use super::Ctx;
use crate::error::{Error, Result};

/// Whether the command asking has a `--dry-run` the refusal may point to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DryRun {
    Offered,
    NotOffered,
}

/// Asks before `what`. With `type_name`, the user must type that name (the GitHub
/// repo-delete pattern); otherwise a yes/no question. Without a terminal, or with
/// `--no-input`, only `--yes` proceeds; the refusal names `--dry-run` only where the
/// command has it.
pub fn destructive(ctx: &Ctx, yes: bool, what: &str, type_name: Option<&str>, dry_run: DryRun) -> Result<()> {
    if yes {
        return Ok(());
    }
    let interactive = !ctx.no_input() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        let preview = match dry_run {
            DryRun::Offered => " (or --dry-run to see what would be deleted)",
            DryRun::NotOffered => "",
        };
        return Err(Error::ConfirmationRequired(format!(
            "refusing to {what} without confirmation: re-run with --yes{preview}"
        )));
    }
    let cancelled = || Error::ConfirmationRequired("cancelled; nothing was changed".into());
    let prompt_error = |e: dialoguer::Error| Error::ConfirmationRequired(format!("cannot prompt: {e}"));
    match type_name {
        Some(name) => {
            let typed: String = dialoguer::Input::new()
                .with_prompt(format!("This will {what}. Type '{name}' to confirm"))
                .allow_empty(true)
                .interact_text()
                .map_err(prompt_error)?;
            if typed != name {
                return Err(cancelled());
            }
        }
        None => {
            let ok = dialoguer::Confirm::new()
                .with_prompt(format!("{what}?"))
                .default(false)
                .interact()
                .map_err(prompt_error)?;
            if !ok {
                return Err(cancelled());
            }
        }
    }
    Ok(())
}
