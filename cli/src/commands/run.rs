//! `cofre run`: start a command with secrets in its environment. Each `-secret` is read
//! once (KV v1/v2 or any leased path), its keys become variables, leases are renewed
//! while the command runs and revoked when it exits; SIGINT, SIGTERM and SIGHUP are
//! forwarded to the command, and its exit code becomes ours (128+N when killed by
//! signal N). Secrets reach the child only through its environment, never its arguments.

use std::collections::BTreeMap;
use std::process::ExitStatus;

use clap::Args;
use cofre_client::watcher::{Event, Lifetime, Watcher};
use cofre_client::Secret;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::commands::secret_env::{fetch, is_valid_name, value_text, Naming};
use crate::context::Context;
use crate::failure::{CmdResult, Failure};
use crate::output;

/// The long help (set on the subcommand: a one-line doc comment there would reset it).
pub const LONG_ABOUT: &str = "Run COMMAND with secrets exported as environment variables.\n\n\
    Each -secret names a path: a KV v1 or v2 secret (the KV version is detected as `kv` \
    does) or a leased secret such as database/creds/ro. Every key becomes a variable named \
    after it: upper-cased (-upper=false keeps the case), characters other than letters, \
    digits and _ turned into _, and -env-prefix put in front. PATH#KEY exports only KEY; \
    PATH#KEY=NAME exports KEY as NAME exactly. A path given several times is read once.\n\n\
    Leases are renewed while COMMAND runs and revoked when it exits. SIGINT, SIGTERM and \
    SIGHUP are forwarded to COMMAND. The exit code is COMMAND's (128+N if signal N killed \
    it); 1 or 2 if cofre itself failed before starting it.\n\n\
    Examples:\n  cofre run -secret=secret/app -- ./server\n  \
    cofre run -secret=secret/app -env-prefix=APP_ -- env\n  \
    cofre run -secret='database/creds/ro#username=PGUSER' \
    -secret='database/creds/ro#password=PGPASSWORD' -- psql -h db app";

/// `cofre run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A secret to export: PATH, PATH#KEY or PATH#KEY=NAME (repeatable)
    #[arg(long = "secret", value_name = "SPEC", required = true)]
    secrets: Vec<String>,
    /// Prefix for the derived variable names (not for PATH#KEY=NAME)
    #[arg(long = "env-prefix", value_name = "PREFIX", default_value = "")]
    env_prefix: String,
    /// Upper-case derived variable names (default true; -upper=false keeps the case)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    upper: bool,
    /// The command and its arguments, after --
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Which keys of one path to export.
#[derive(Debug, Clone, PartialEq)]
enum Pick {
    /// Every key, with derived names.
    All,
    /// One key, with a derived name or the given one.
    Key { key: String, name: Option<String> },
}

pub async fn run(ctx: &Context, args: RunArgs) -> CmdResult {
    let paths = parse_specs(&args.secrets).map_err(Failure::usage)?;
    let naming = Naming {
        prefix: args.env_prefix.clone(),
        upper: args.upper,
    };
    let mut leases = Vec::new();
    let env = match collect(ctx, &paths, &naming, &mut leases).await {
        Ok(env) => env,
        Err(failure) => {
            revoke_all(ctx, &leases).await;
            return Err(failure);
        }
    };
    let watchers: Vec<Watcher> = leases.iter().filter_map(|l| watch(ctx, l)).collect();
    let result = supervise(&args.command, env).await;
    for watcher in watchers {
        watcher.stop().await;
    }
    revoke_all(ctx, &leases).await;
    match result? {
        0 => Ok(()),
        code => Err(Failure::Exit(code)),
    }
}

/// `-secret` arguments grouped by path, in the order first given.
fn parse_specs(specs: &[String]) -> Result<Vec<(String, Vec<Pick>)>, String> {
    let mut paths: Vec<(String, Vec<Pick>)> = Vec::new();
    for spec in specs {
        let (path, pick) = parse_spec(spec)?;
        match paths.iter_mut().find(|(p, _)| *p == path) {
            Some((_, picks)) => picks.push(pick),
            None => paths.push((path, vec![pick])),
        }
    }
    Ok(paths)
}

/// `PATH`, `PATH#KEY` or `PATH#KEY=NAME`.
fn parse_spec(spec: &str) -> Result<(String, Pick), String> {
    let (path, pick) = match spec.split_once('#') {
        None => (spec, Pick::All),
        Some((path, rest)) => {
            let (key, name) = match rest.split_once('=') {
                Some((key, name)) => (key, Some(name.trim().to_string())),
                None => (rest, None),
            };
            if key.trim().is_empty() {
                return Err(format!("-secret {spec:?}: the key after # is empty"));
            }
            if let Some(name) = name.as_deref().filter(|n| !is_valid_name(n)) {
                return Err(format!(
                    "-secret {spec:?}: {name:?} is not a valid variable name \
                     (letters, digits and _, not starting with a digit)"
                ));
            }
            let key = key.trim().to_string();
            (path, Pick::Key { key, name })
        }
    };
    let path = crate::commands::sanitize_path(path);
    if path.is_empty() {
        return Err(format!("-secret {spec:?}: the path is empty"));
    }
    Ok((path, pick))
}

/// Reads every path once; the variables to set, sorted by name. Leased secrets are
/// pushed to `leases` as soon as they are read, so the caller can revoke them on error.
async fn collect(
    ctx: &Context,
    paths: &[(String, Vec<Pick>)],
    naming: &Naming,
    leases: &mut Vec<Secret>,
) -> Result<BTreeMap<String, String>, Failure> {
    let mut env: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (path, picks) in paths {
        let fetched = fetch(&ctx.client, path).await?;
        if !fetched.secret.lease_id.is_empty() {
            leases.push(fetched.secret.clone());
        }
        for (name, value) in variables(path, &fetched.data, picks, naming)? {
            if let Some((other, _)) = env.get(&name).filter(|(p, _)| p != path) {
                return Err(Failure::usage(format!(
                    "both {other} and {path} set {name}; rename one with PATH#KEY=NAME"
                )));
            }
            env.insert(name, (path.clone(), value));
        }
    }
    Ok(env
        .into_iter()
        .map(|(name, (_, value))| (name, value))
        .collect())
}

/// The (name, value) pairs `picks` select from one secret's data.
fn variables(
    path: &str,
    data: &serde_json::Map<String, serde_json::Value>,
    picks: &[Pick],
    naming: &Naming,
) -> Result<Vec<(String, String)>, Failure> {
    let mut out = Vec::new();
    for pick in picks {
        match pick {
            Pick::All => out.extend(data.iter().map(|(k, v)| (naming.name(k), value_text(v)))),
            Pick::Key { key, name } => {
                let value = data.get(key).ok_or_else(|| {
                    Failure::usage(format!("the secret at {path} has no key {key:?}"))
                })?;
                let name = name.clone().unwrap_or_else(|| naming.name(key));
                out.push((name, value_text(value)));
            }
        }
    }
    Ok(out)
}

/// A watcher renewing a renewable lease, its events reported on stderr.
fn watch(ctx: &Context, lease: &Secret) -> Option<Watcher> {
    let lifetime = Lifetime::of_secret(lease).filter(|_| lease.renewable)?;
    let (watcher, mut events) = Watcher::builder(ctx.client.clone(), lifetime).start();
    let id = lease.lease_id.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                Event::Expiring { ttl } => output::err(&format!(
                    "cofre run: lease {id} cannot be renewed any further; it expires in {} s",
                    ttl.as_secs()
                )),
                Event::Error(e) => output::err(&format!("cofre run: renewing {id}: {e}")),
                Event::Renewed { .. } | Event::Reauthenticated => {}
            }
        }
    });
    Some(watcher)
}

async fn revoke_all(ctx: &Context, leases: &[Secret]) {
    for lease in leases {
        if let Err(e) = ctx.client.leases().revoke(&lease.lease_id).await {
            output::err(&format!(
                "cofre run: could not revoke lease {}: {e}",
                lease.lease_id
            ));
        }
    }
}

/// Starts the command, forwards signals to it until it exits; its exit code.
async fn supervise(command: &[String], env: BTreeMap<String, String>) -> Result<u8, Failure> {
    let (program, arguments) = command
        .split_first()
        .ok_or_else(|| Failure::usage("no command given after --"))?;
    // Listen before the child starts, so no signal falls between the two.
    let mut signals = Signals::listen()?;
    let mut child = tokio::process::Command::new(program)
        .args(arguments)
        .envs(env)
        .spawn()
        .map_err(|e| Failure::usage(format!("cannot start {program}: {e}")))?;
    let pid = child.id();
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            number = signals.next() => forward(pid, number),
        }
    };
    let status = status.map_err(|e| Failure::usage(format!("waiting for {program}: {e}")))?;
    Ok(exit_code(status))
}

/// SIGINT, SIGTERM and SIGHUP, as received.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn listen() -> Result<Signals, Failure> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| Failure::usage(format!("cannot handle signals: {e}")))
        };
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
        })
    }

    /// The number of the next signal received.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.interrupt.recv() => libc::SIGINT,
            _ = self.terminate.recv() => libc::SIGTERM,
            _ = self.hangup.recv() => libc::SIGHUP,
        }
    }
}

fn forward(pid: Option<u32>, number: i32) {
    let Some(pid) = pid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) with our own child's pid and a valid signal number has no memory
    // effects; a child that already exited makes it fail with ESRCH, which is harmless.
    unsafe {
        libc::kill(pid, number);
    }
}

/// The child's exit code, or 128+N when signal N ended it (as shells report it).
fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => (code & 0xff) as u8,
        (None, Some(signal)) => (128 + signal).clamp(0, 255) as u8,
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_parse_and_group_by_path() {
        let specs: Vec<String> = [
            "secret/app",
            "database/creds/ro#username=PGUSER",
            "database/creds/ro#password",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let paths = parse_specs(&specs).unwrap();
        assert_eq!(paths.len(), 2);
        assert_eq!(paths[0], ("secret/app".into(), vec![Pick::All]));
        assert_eq!(
            paths[1].1,
            vec![
                Pick::Key {
                    key: "username".into(),
                    name: Some("PGUSER".into())
                },
                Pick::Key {
                    key: "password".into(),
                    name: None
                },
            ]
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(parse_spec("secret/app#").is_err());
        assert!(parse_spec("#key").is_err());
        assert!(parse_spec("secret/app#k=1BAD")
            .unwrap_err()
            .contains("not a valid variable name"));
    }

    #[test]
    fn picks_select_and_name_variables() {
        let data = json!({"password": "pw", "port": 5432})
            .as_object()
            .unwrap()
            .clone();
        let naming = Naming {
            prefix: "DB_".into(),
            upper: true,
        };
        let all = variables("p", &data, &[Pick::All], &naming).unwrap();
        assert_eq!(
            all,
            [
                ("DB_PASSWORD".into(), "pw".into()),
                ("DB_PORT".into(), "5432".into())
            ]
        );
        let one = Pick::Key {
            key: "password".into(),
            name: Some("PGPASSWORD".into()),
        };
        assert_eq!(
            variables("p", &data, &[one], &naming).unwrap(),
            [("PGPASSWORD".into(), "pw".into())]
        );
        let missing = Pick::Key {
            key: "nope".into(),
            name: None,
        };
        assert!(variables("p", &data, &[missing], &naming).is_err());
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(libc::SIGTERM)), 128 + 15);
    }
}
