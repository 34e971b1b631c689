//! `cofre operator migrate -from sled:PATH -to postgresql:URL`: copies a stopped server's
//! store to another backend, ciphertext as it is (the same unseal keys open it after).
//! Keys are copied in order in batches; each batch records its last key in the
//! destination (`cofre-migration-checkpoint`), so an interrupted run resumes where it
//! stopped. The checkpoint is removed when the copy is complete.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use cofre_server::storage::{postgres::Postgres, sled::Sled, Backend, TxnOp};

use crate::failure::{CmdResult, Failure};

/// Where an interrupted migration stopped (a key outside every barrier prefix).
const CHECKPOINT: &str = "cofre-migration-checkpoint";
const BATCH: usize = 500;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The source store: sled:PATH (the server using it must be stopped)
    #[arg(long)]
    from: String,
    /// The destination store: postgresql:URL or sled:PATH
    #[arg(long)]
    to: String,
    /// The PostgreSQL table, on either side
    #[arg(long, default_value = "cofre_store")]
    table: String,
    /// Stop after this many keys (to test resuming)
    #[arg(long = "stop-after", hide = true)]
    stop_after: Option<usize>,
}

async fn open(spec: &str, table: &str) -> Result<Arc<dyn Backend>, Failure> {
    let failed = |e: cofre_server::storage::StorageError| {
        Failure::usage(format!("cannot open {}: {e}", describe(spec)))
    };
    match spec.split_once(':') {
        Some(("sled", path)) => Ok(Arc::new(
            Sled::open(std::path::Path::new(path)).map_err(failed)?,
        )),
        Some(("postgresql" | "postgres", _)) => {
            let url = spec.split_once(':').map_or("", |(_, u)| u);
            Ok(Arc::new(
                Postgres::open(url, table, 8, None).await.map_err(failed)?,
            ))
        }
        _ => Err(Failure::usage(format!(
            "unknown store {:?}: use sled:PATH or postgresql:URL",
            describe(spec)
        ))),
    }
}

/// The store spec without a URL's password.
fn describe(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}<credentials>{}", &spec[..scheme + 3], &spec[at..])
        }
        _ => spec.to_string(),
    }
}

pub async fn migrate(args: MigrateArgs) -> CmdResult {
    let source = open(&args.from, &args.table).await?;
    let dest = open(&args.to, &args.table).await?;
    let storage_failed = |what: &str, e: cofre_server::storage::StorageError| {
        Failure::server(format!("{what}: {e}"))
    };
    let resume = dest
        .get(CHECKPOINT)
        .await
        .map_err(|e| storage_failed("reading the destination", e))?
        .map(|v| String::from_utf8_lossy(&v).into_owned());
    if resume.is_none()
        && !dest
            .scan("", None, 1)
            .await
            .map_err(|e| storage_failed("reading the destination", e))?
            .is_empty()
    {
        return Err(Failure::usage(format!(
            "{} already holds data and no interrupted migration: refusing to mix two stores",
            describe(&args.to)
        )));
    }
    let total = count(source.as_ref())
        .await
        .map_err(|e| storage_failed("reading the source", e))?;
    let mut done = match &resume {
        Some(last) => count_upto(source.as_ref(), last)
            .await
            .map_err(|e| storage_failed("reading the source", e))?,
        None => 0,
    };
    if let Some(last) = &resume {
        eprintln!("resuming after {last:?} ({done} of {total} keys already copied)");
    }
    let started = Instant::now();
    let batch = args.stop_after.map_or(BATCH, |n| n.clamp(1, BATCH));
    let mut after = resume;
    loop {
        let keys = source
            .scan("", after.as_deref(), batch)
            .await
            .map_err(|e| storage_failed("reading the source", e))?;
        let Some(last) = keys.last().cloned() else {
            break;
        };
        let mut ops = Vec::with_capacity(keys.len() + 1);
        for key in &keys {
            if let Some(value) = source
                .get(key)
                .await
                .map_err(|e| storage_failed("reading the source", e))?
            {
                ops.push(TxnOp::Put(key.clone(), value));
            }
        }
        ops.push(TxnOp::Put(CHECKPOINT.into(), last.clone().into_bytes()));
        dest.transaction(ops)
            .await
            .map_err(|e| storage_failed("writing the destination", e))?;
        done += keys.len();
        progress(done, total, started);
        after = Some(last);
        if args.stop_after.is_some_and(|n| done >= n) {
            eprintln!();
            return Err(Failure::server(format!(
                "stopped after {done} keys as asked; run the same command again to resume"
            )));
        }
    }
    dest.delete(CHECKPOINT)
        .await
        .map_err(|e| storage_failed("writing the destination", e))?;
    eprintln!();
    crate::output::out(&format!(
        "Success! Copied {done} keys from {} to {}.",
        describe(&args.from),
        describe(&args.to)
    ));
    Ok(())
}

fn progress(done: usize, total: usize, started: Instant) {
    let pct = (done * 100).checked_div(total).unwrap_or(100);
    let width = 30;
    let filled = (pct * width / 100).min(width);
    let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
    eprint!(
        "\r[{}{}] {done}/{total} keys ({pct}%, {rate:.0}/s)",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    let _ = std::io::stderr().flush();
}

async fn count(store: &dyn Backend) -> Result<usize, cofre_server::storage::StorageError> {
    count_while(store, |_| true).await
}

/// Keys at or before `last` (already copied by an interrupted run).
async fn count_upto(
    store: &dyn Backend,
    last: &str,
) -> Result<usize, cofre_server::storage::StorageError> {
    count_while(store, |k| k <= last).await
}

async fn count_while(
    store: &dyn Backend,
    keep: impl Fn(&str) -> bool,
) -> Result<usize, cofre_server::storage::StorageError> {
    let mut n = 0;
    let mut after: Option<String> = None;
    loop {
        let keys = store.scan("", after.as_deref(), 4096).await?;
        let Some(last) = keys.last().cloned() else {
            return Ok(n);
        };
        let before = keys.iter().take_while(|k| keep(k)).count();
        n += before;
        if before < keys.len() {
            return Ok(n);
        }
        after = Some(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_hide_credentials() {
        assert_eq!(
            describe("postgresql:postgres://cofre:secret@db:5432/x"),
            "postgresql:postgres://<credentials>@db:5432/x"
        );
        assert_eq!(describe("sled:/var/lib/cofre"), "sled:/var/lib/cofre");
    }
}
