//! `cofre login`: with a token (`cofre login [TOKEN|-]`, verified with a lookup) or an
//! auth method (`-method=userpass|approle|kubernetes|jwt` and `key=value` credentials,
//! see [`super::login_method`]); the token is kept in `~/.cofre-token`. And `cofre print
//! token`.

use clap::{Args, Subcommand};
use cofre_client::{AuthInfo, Secret};
use serde_json::Value;

use super::login_method;
use crate::context::Context;
use crate::failure::{server_error, CmdResult, Failure};
use crate::output::{self, wrap};

/// The long help (set on the subcommand: a one-line doc comment there would reset it).
pub const LONG_ABOUT: &str = "Authenticate and store the token in ~/.cofre-token, which later \
    commands use when COFRE_TOKEN/VAULT_TOKEN are unset.\n\n\
    -method=token (default): the token is looked up on the server (so a wrong token fails \
    here, not later). Without TOKEN it is prompted for (hidden); - reads it from stdin.\n\n\
    Other methods take key=value credentials (k=@file reads a file, k=- reads stdin) and log \
    in at -path (default: the method's name):\n  \
    userpass    username=NAME [password=…] (prompted for when absent)\n  \
    approle     role_id=ID [secret_id=…]\n  \
    kubernetes  role=NAME [jwt=…] (default: the pod's service account token)\n  \
    jwt         [role=NAME] jwt=…\n\n\
    Examples:\n  cofre login\n  echo \"$TOKEN\" | cofre login -\n  \
    cofre login -method=userpass username=bob\n  \
    cofre login -method=approle role_id=\"$ROLE_ID\" secret_id=-\n  \
    cofre login -method=kubernetes -path=k8s role=app\n  \
    cofre login -method=jwt role=ci jwt=@/tmp/oidc-token";

/// `cofre login`.
#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Auth method: token, userpass, approle, kubernetes or jwt
    #[arg(long, default_value = "token")]
    method: String,
    /// Where the auth method is mounted (default: the method's name)
    #[arg(long, value_name = "MOUNT")]
    path: Option<String>,
    /// Do not store the token in the token helper file
    #[arg(long = "no-store")]
    no_store: bool,
    /// Do not print the token information after logging in
    #[arg(long = "no-print")]
    no_print: bool,
    /// Print only the token (implies -no-store)
    #[arg(long = "token-only")]
    token_only: bool,
    /// The token or - (token method), or the method's key=value credentials
    #[arg(value_name = "TOKEN | K=V")]
    args: Vec<String>,
}

/// `cofre print …`.
#[derive(Subcommand, Debug)]
pub enum PrintCommand {
    /// Print the token this CLI would use (from COFRE_TOKEN, VAULT_TOKEN or ~/.cofre-token)
    Token,
}

pub async fn login(ctx: &Context, args: LoginArgs) -> CmdResult {
    let no_store = args.no_store || args.token_only;
    if no_store && args.no_print {
        return Err(Failure::usage(
            "-no-store and -no-print cannot be used together",
        ));
    }
    let (token, secret) = match args.method.trim() {
        "token" | "" => token_login(ctx, &args.args).await?,
        method => {
            let credentials = login_method::parse(method, &args.args)?;
            let mount = args.path.as_deref().unwrap_or_default();
            let login = login_method::login(&ctx.client, mount, &credentials).await?;
            let secret = Secret {
                warnings: (!login.warnings.is_empty()).then_some(login.warnings),
                auth: Some(login.auth.clone()),
                ..Secret::default()
            };
            (login.auth.client_token, secret)
        }
    };
    if !no_store {
        cofre_client::token_helper::store(&token)
            .map_err(|e| Failure::usage(format!("Error storing token: {e}")))?;
        warn_if_env_token_set();
    } else if !args.token_only {
        output::err(&format!(
            "{}\n",
            wrap(
                "The token was not stored in the token helper. Set the COFRE_TOKEN \
                 environment variable or pass the token below with each request.",
                0
            )
        ));
    }
    if args.no_print {
        return Ok(());
    }
    if args.token_only {
        return ctx.ui.raw(&Value::String(token));
    }
    if let Some(field) = &ctx.ui.field {
        return ctx.ui.secret_field(&secret, field);
    }
    if ctx.ui.is_table() && !no_store {
        output::out(&format!(
            "{}\n",
            wrap(
                "Success! You are now authenticated. The token information displayed below \
                 is already stored in the token helper. You do NOT need to run \"cofre \
                 login\" again. Future requests will automatically use this token.",
                0
            )
        ));
    }
    ctx.ui.secret(&secret)
}

/// The token method: the token from the arguments, stdin or a prompt, verified with a
/// lookup; the token and an envelope that shows it.
async fn token_login(ctx: &Context, args: &[String]) -> Result<(String, Secret), Failure> {
    let given = args.first().map(|a| a.trim());
    let token = match given.map(|a| a.strip_prefix("token=").unwrap_or(a)) {
        Some("-") => super::read_input("-", "token")?.trim().to_string(),
        Some(token) => token.to_string(),
        None => super::prompt_hidden("Token (will be hidden): ")?,
    };
    if token.is_empty() {
        return Err(Failure::usage(
            "a token must be passed to auth, please view the help for more information",
        ));
    }
    let lookup = ctx
        .client
        .with_token(token.clone())
        .token()
        .lookup_self()
        .await
        .map_err(|e| server_error("Error authenticating: error looking up token", &e))?;
    let secret = Secret {
        auth: Some(auth_from_lookup(&token, &lookup)),
        ..Secret::default()
    };
    Ok((token, secret))
}

/// An `auth` block built from `lookup-self`, as if a login endpoint had returned it.
fn auth_from_lookup(token: &str, lookup: &Secret) -> AuthInfo {
    let strings = |name: &str| -> Option<Vec<String>> {
        lookup.field(name).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
    };
    let token_policies = strings("policies");
    let identity_policies = strings("identity_policies");
    let mut policies = token_policies.clone().unwrap_or_default();
    policies.extend(identity_policies.clone().unwrap_or_default());
    let metadata = lookup.field("meta").and_then(Value::as_object).map(|m| {
        m.iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect()
    });
    let text = |name: &str| {
        lookup
            .field(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    AuthInfo {
        client_token: lookup
            .field("id")
            .and_then(Value::as_str)
            .unwrap_or(token)
            .to_string(),
        accessor: text("accessor"),
        policies: Some(policies),
        token_policies,
        identity_policies,
        metadata,
        orphan: lookup
            .field("orphan")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        entity_id: text("entity_id"),
        lease_duration: lookup.field("ttl").and_then(Value::as_i64).unwrap_or(0),
        renewable: lookup
            .field("renewable")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        mfa_requirement: None,
    }
}

fn warn_if_env_token_set() {
    for name in ["COFRE_TOKEN", "VAULT_TOKEN"] {
        if std::env::var(name).is_ok_and(|v| !v.trim().is_empty()) {
            output::err(&format!(
                "{}\n",
                wrap(
                    &format!(
                        "WARNING! The {name} environment variable is set! The value of this \
                         variable will take precedence; if this is unwanted please unset \
                         {name} or update its value accordingly."
                    ),
                    0
                )
            ));
        }
    }
}

pub fn print(ctx: &Context, command: PrintCommand) -> CmdResult {
    match command {
        PrintCommand::Token => {
            output::out(ctx.client.client_token().unwrap_or_default());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lookup_becomes_an_auth_block() {
        let lookup = Secret {
            data: Some(
                json!({"id": "s.t", "accessor": "acc", "policies": ["default", "p"],
                "meta": {"team": "a"}, "ttl": 3600, "renewable": true}),
            ),
            ..Secret::default()
        };
        let auth = auth_from_lookup("s.t", &lookup);
        assert_eq!(auth.client_token, "s.t");
        assert_eq!(auth.accessor, "acc");
        assert_eq!(auth.policies, Some(vec!["default".into(), "p".into()]));
        assert_eq!(auth.identity_policies, None);
        assert_eq!(auth.lease_duration, 3600);
        assert!(auth.renewable);
        assert_eq!(auth.metadata.unwrap()["team"], "a");
    }
}
