//! Dynamic shell completion (clap_complete's engine). The scripts `lrt completions SHELL`
//! prints only register `lrt` with the shell: at each TAB the shell runs
//! `COMPLETE=SHELL lrt -- WORDS…`, and [`try_complete`] answers from the clap definition, with
//! tenant and KB names read through the service as the current user may see them (a member
//! gets the tenants they belong to, a super-admin every tenant). Completion is best effort: any
//! error (no identity, no data directory yet, a KB the user cannot see) gives no candidates
//! and prints nothing, and it never creates a data directory.

use std::ffi::{OsStr, OsString};

use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};

use crate::config::{Backend, Env, Overrides, ProcessEnv, Settings};
use crate::service::{MAX_PAGE_SIZE, Paging, Service};

/// The environment variable that asks `lrt` for completions instead of running a command.
pub const VAR: &str = "COMPLETE";

/// Answers a completion request when `COMPLETE` is set (`Some(exit code)`), else `None`.
pub fn try_complete(args: &[OsString]) -> Option<i32> {
    std::env::var_os(VAR).filter(|v| !v.is_empty() && v != "0")?;
    let current_dir = std::env::current_dir().ok();
    let done = clap_complete::CompleteEnv::with_factory(super::command)
        .var(VAR)
        .try_complete(args.iter().cloned(), current_dir.as_deref());
    match done {
        Ok(true) => Some(0),
        Ok(false) => None,
        // An unknown shell name: nothing to offer, and nothing printed into the shell.
        Err(_) => Some(1),
    }
}

/// Completes tenant names.
pub fn tenants() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(current, tenant_names))
}

/// Completes KB names in the tenant the command line names (`-t`/`--tenant`, `lrt use
/// TENANT`), else `LRT_TENANT`, else the current `lrt use` context.
pub fn kbs() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let words: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
        let tenant = tenant_in(&words).or_else(|| ProcessEnv.get("LRT_TENANT"));
        candidates(current, move |svc| kb_names(svc, tenant.as_deref()))
    })
}

/// The names `names` gives that start with `current` (ignoring case), or none on any error.
fn candidates(
    current: &OsStr,
    names: impl FnOnce(&mut Service) -> crate::error::Result<Vec<String>>,
) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let prefix = current.to_lowercase();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut svc = service()?;
        names(&mut svc)
    }));
    let Ok(Ok(mut names)) = found else {
        return Vec::new();
    };
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| n.to_lowercase().starts_with(&prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// The service of the configured installation, only if it exists already (a completion
/// creates nothing).
fn service() -> crate::error::Result<Service> {
    let settings = Settings::load(&Overrides::default(), &ProcessEnv)?;
    if settings.storage.backend.value == Backend::Sqlite
        && !crate::layout::Layout::new(settings.data_dir.value.clone())
            .catalog_path()
            .is_file()
    {
        return Err(crate::error::Error::NotFound("no catalog yet".into()));
    }
    Service::open(settings)
}

/// Every tenant the local user can see, page after page.
fn tenant_names(svc: &mut Service) -> crate::error::Result<Vec<String>> {
    let actor = svc.local_actor(None)?;
    let mut names = Vec::new();
    for page in 1.. {
        let listed = svc.list_tenants(&actor, Paging::new(page, MAX_PAGE_SIZE)?)?;
        names.extend(listed.items.into_iter().map(|t| t.tenant_name));
        if page * MAX_PAGE_SIZE >= listed.total {
            break;
        }
    }
    Ok(names)
}

/// The KBs of `tenant` (or of the current context) the local user can see.
fn kb_names(svc: &mut Service, tenant: Option<&str>) -> crate::error::Result<Vec<String>> {
    let actor = svc.local_actor(None)?;
    Ok(svc.list_kbs(&actor, tenant)?.into_iter().map(|k| k.kb_name).collect())
}

/// The tenant a command line names: `-t T`, `-tT`, `--tenant T`, `--tenant=T`, or the first
/// argument of `lrt use`.
fn tenant_in(words: &[String]) -> Option<String> {
    let mut found = None;
    let mut iter = words.iter().peekable();
    while let Some(word) = iter.next() {
        match word.as_str() {
            "-t" | "--tenant" => found = iter.peek().map(|v| v.to_string()),
            w if w.starts_with("--tenant=") => found = Some(w["--tenant=".len()..].to_string()),
            w if w.starts_with("-t") && w.len() > 2 && !w.starts_with("--") => found = Some(w[2..].to_string()),
            "use" if found.is_none() => {
                found = iter.peek().filter(|v| !v.starts_with('-')).map(|v| v.to_string());
            }
            _ => {}
        }
    }
    found.filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_of_a_command_line() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            tenant_in(&words("lrt -- lrt kb show -t acme d")).as_deref(),
            Some("acme")
        );
        assert_eq!(
            tenant_in(&words("lrt -- lrt query --tenant=acme --kb d")).as_deref(),
            Some("acme")
        );
        assert_eq!(
            tenant_in(&words("lrt -- lrt doc list -tacme --kb ")).as_deref(),
            Some("acme")
        );
        assert_eq!(tenant_in(&words("lrt -- lrt use acme d")).as_deref(), Some("acme"));
        assert_eq!(tenant_in(&words("lrt -- lrt use --kb d")), None);
        assert_eq!(tenant_in(&words("lrt -- lrt kb show d")), None);
    }
}
