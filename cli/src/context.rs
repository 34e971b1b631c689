//! Flags every client command accepts (address, TLS, output format, `-field`,
//! `-wrap-ttl`) and the [`Context`] built from them: a configured SDK client and the
//! output settings.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use cofre_client::{Client, ClientBuilder};

use crate::failure::Failure;
use crate::output::{Format, Ui};

/// Flags accepted before or after any subcommand, like `vault`'s HTTP and output options.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Address of the server [env: COFRE_ADDR, VAULT_ADDR] [default: http://127.0.0.1:8200]
    #[arg(long, global = true, value_name = "URL")]
    pub address: Option<String>,

    /// PEM file of the CA that signed the server's TLS certificate [env: COFRE_CACERT,
    /// VAULT_CACERT]
    #[arg(long = "ca-cert", global = true, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Skip TLS certificate verification (insecure; development only) [env:
    /// COFRE_SKIP_VERIFY, VAULT_SKIP_VERIFY]
    #[arg(
        long = "tls-skip-verify",
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_name = "BOOL",
        value_parser = BoolishValueParser::new()
    )]
    pub tls_skip_verify: Option<bool>,

    /// Output format: table, json or yaml [env: COFRE_FORMAT, VAULT_FORMAT] [default: table]
    #[arg(long, global = true, value_name = "FORMAT")]
    pub format: Option<String>,

    /// Print only this field's value, without a table (e.g. -field=password)
    #[arg(long, global = true, value_name = "NAME")]
    pub field: Option<String>,

    /// Ask the server to wrap the answer in a single-use token that lives this long
    /// (seconds or a duration such as 5m); unwrap it with `cofre unwrap` [env:
    /// COFRE_WRAP_TTL, VAULT_WRAP_TTL]
    #[arg(long = "wrap-ttl", global = true, value_name = "DURATION")]
    pub wrap_ttl: Option<String>,

    /// Accepted for compatibility with vault scripts; Cofre has no namespaces
    #[arg(
        long,
        global = true,
        hide = true,
        visible_alias = "ns",
        value_name = "NS"
    )]
    pub namespace: Option<String>,
}

/// What a client command works with.
pub struct Context {
    pub client: Client,
    pub ui: Ui,
}

impl Context {
    /// Builds the client (environment, token helper, then flags) and the output settings.
    pub fn new(global: &GlobalArgs) -> Result<Context, Failure> {
        let ui = ui(global)?;
        let config_error = |e: cofre_client::Error| Failure::usage(e.to_string());
        let mut builder = ClientBuilder::from_env().map_err(config_error)?;
        if let Some(address) = &global.address {
            builder = builder.address(address);
        }
        if let Some(ca_cert) = &global.ca_cert {
            builder = builder.ca_cert_file(ca_cert);
        }
        if let Some(skip) = global.tls_skip_verify {
            builder = builder.skip_verify(skip);
        }
        let mut client = builder.build().map_err(config_error)?;
        let wrap_ttl = global
            .wrap_ttl
            .clone()
            .or_else(|| env_nonempty("COFRE_WRAP_TTL"))
            .or_else(|| env_nonempty("VAULT_WRAP_TTL"));
        if let Some(ttl) = wrap_ttl {
            // Every request of the command asks for wrapping, as with `vault -wrap-ttl`.
            client = client.with_wrap_ttl(ttl);
        }
        Ok(Context { client, ui })
    }
}

/// The output settings: `-format`, else `COFRE_FORMAT`/`VAULT_FORMAT`, else table.
pub fn ui(global: &GlobalArgs) -> Result<Ui, Failure> {
    let name = global
        .format
        .clone()
        .or_else(|| env_nonempty("COFRE_FORMAT"))
        .or_else(|| env_nonempty("VAULT_FORMAT"))
        .unwrap_or_else(|| "table".to_string());
    let format = Format::parse(&name).ok_or_else(|| {
        Failure::usage(format!(
            "Invalid output format: {name} (use table, json or yaml)"
        ))
    })?;
    let field = global.field.clone().filter(|f| !f.is_empty());
    Ok(Ui { format, field })
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
