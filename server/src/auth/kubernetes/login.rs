//! `login` (`role`, `jwt`): reads the service account from the JWT's claims (projected
//! `kubernetes.io` or legacy `kubernetes.io/serviceaccount/*`), checks the role's name and
//! namespace bindings, then has the token verified — locally with `pem_keys`, else by a
//! TokenReview — and grants the role's token fields. A failed login writes nothing.

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::config::Config;
use super::role::{self, Role, ALIAS_NAME};
use super::{review, Kubernetes};
use crate::auth::jwt_verify::{any_glob_matches, now, Jwt, JwtError, Leeway};
use crate::auth::records::load_config;
use crate::core::{Request, RequestError, Response};
use crate::engines::MountContext;

/// The service account a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ServiceAccount {
    namespace: String,
    name: String,
    uid: String,
    /// Legacy (secret-based) tokens name their secret.
    secret_name: String,
}

const LEGACY: &str = "kubernetes.io/serviceaccount/";

impl ServiceAccount {
    fn from_claims(jwt: &Jwt) -> Result<Self, RequestError> {
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let account = match jwt.claims.get("kubernetes.io") {
            Some(projected) => ServiceAccount {
                namespace: text(projected.get("namespace")),
                name: text(projected.pointer("/serviceaccount/name")),
                uid: text(projected.pointer("/serviceaccount/uid")),
                secret_name: String::new(),
            },
            None => {
                let legacy = |key: &str| text(jwt.claims.get(&format!("{LEGACY}{key}")));
                ServiceAccount {
                    namespace: legacy("namespace"),
                    name: legacy("service-account.name"),
                    uid: legacy("service-account.uid"),
                    secret_name: legacy("secret.name"),
                }
            }
        };
        if account.namespace.is_empty() || account.name.is_empty() {
            return Err(RequestError::invalid(
                "the JWT is not a Kubernetes service account token: it names no namespace and service account",
            ));
        }
        Ok(account)
    }
}

pub(super) async fn login(
    engine: &Kubernetes,
    ctx: &MountContext,
    req: &Request,
) -> Result<Response, RequestError> {
    let role_name = required(req, "role")?;
    let jwt = Zeroizing::new(required(req, "jwt")?);
    let role = role::ROLES
        .load::<role::Role>(&ctx.storage, &role_name)
        .await?
        .ok_or_else(|| RequestError::invalid(format!("invalid role name {role_name:?}")))?;
    if !role.token.allows_address(req.remote_addr) {
        return Err(RequestError::PermissionDenied);
    }
    let config = load_config::<Config>(ctx, "kubernetes").await?;
    let token = Jwt::parse(&jwt).map_err(|e| RequestError::invalid(e.to_string()))?;
    let claimed = ServiceAccount::from_claims(&token)?;
    check_bindings(&role, &claimed)?;
    let account = if config.pem_keys.is_empty() {
        let reviewed = review_remotely(engine, &config, &role, &jwt).await?;
        if reviewed.namespace != claimed.namespace || reviewed.name != claimed.name {
            return Err(RequestError::Forbidden(
                "permission denied: the service account in the JWT does not match the one the TokenReview returned".into(),
            ));
        }
        if !role.audience.is_empty() && !reviewed.audiences.contains(&role.audience) {
            return Err(denied(JwtError::BadClaim("aud")));
        }
        let uid = if reviewed.uid.is_empty() {
            claimed.uid.clone()
        } else {
            reviewed.uid
        };
        ServiceAccount { uid, ..claimed }
    } else {
        verify_locally(&config, &role, &token)?;
        claimed
    };
    Ok(Response {
        login: Some(Box::new(grant(&role_name, &role, &account))),
        ..Response::default()
    })
}

fn required(req: &Request, name: &str) -> Result<String, RequestError> {
    req.str_field(name)?
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| RequestError::invalid(format!("missing {name}")))
}

fn denied(err: JwtError) -> RequestError {
    RequestError::Forbidden(format!("permission denied: {err}"))
}

fn check_bindings(role: &Role, account: &ServiceAccount) -> Result<(), RequestError> {
    if !any_glob_matches(&role.bound_service_account_names, &account.name) {
        return Err(RequestError::Forbidden(
            "service account name not authorized".into(),
        ));
    }
    // A namespace selector is not evaluated (see the module doc): only the list counts.
    if !any_glob_matches(&role.bound_service_account_namespaces, &account.namespace) {
        return Err(RequestError::Forbidden("namespace not authorized".into()));
    }
    Ok(())
}

/// Signature with `pem_keys`, then exp/nbf/iat (a minute of skew, as Vault), the issuer
/// unless disabled, and the audience when the role sets one.
fn verify_locally(config: &Config, role: &Role, token: &Jwt) -> Result<(), RequestError> {
    token.verify(&config.public_keys()?).map_err(denied)?;
    let leeway = Leeway {
        clock_skew: 60,
        ..Leeway::default()
    };
    token.check_times(now(), &leeway).map_err(denied)?;
    if !config.disable_iss_validation && token.str_claim("iss") != Some(config.expected_issuer()) {
        return Err(denied(JwtError::BadClaim("iss")));
    }
    if !role.audience.is_empty() && !token.audiences().contains(&role.audience) {
        return Err(denied(JwtError::BadClaim("aud")));
    }
    Ok(())
}

/// The TokenReview, with the reviewer token and CA chosen as the module doc says.
async fn review_remotely(
    engine: &Kubernetes,
    config: &Config,
    role: &Role,
    jwt: &str,
) -> Result<review::Reviewed, RequestError> {
    let mut reviewer = Zeroizing::new(config.token_reviewer_jwt.0.clone());
    let mut ca = config.kubernetes_ca_cert.clone();
    if !config.disable_local_ca_jwt {
        let dir = engine.sa_dir();
        if reviewer.is_empty() {
            if let Ok(local) = tokio::fs::read_to_string(dir.join("token")).await {
                *reviewer = local.trim().to_string();
            }
        }
        if ca.is_empty() {
            if let Ok(local) = tokio::fs::read_to_string(dir.join("ca.crt")).await {
                ca = local;
            }
        }
    }
    if reviewer.is_empty() {
        *reviewer = jwt.to_string();
    }
    let client = engine.clients.get(&ca).await?;
    let audience = (!role.audience.is_empty()).then_some(role.audience.as_str());
    review::review(&client, &config.kubernetes_host, &reviewer, jwt, audience).await
}

fn grant(role_name: &str, role: &Role, account: &ServiceAccount) -> crate::core::LoginGrant {
    let alias = if role.alias_name_source == ALIAS_NAME {
        format!("{}/{}", account.namespace, account.name)
    } else {
        account.uid.clone()
    };
    let mut metadata = Map::new();
    for (key, value) in [
        ("role", role_name),
        ("service_account_name", &account.name),
        ("service_account_namespace", &account.namespace),
        ("service_account_uid", &account.uid),
        ("service_account_secret_name", &account.secret_name),
        ("alias_name", &alias),
    ] {
        metadata.insert(key.into(), Value::from(value));
    }
    let display = format!("{}-{}", account.namespace, account.name);
    role.token.grant(&display, metadata)
}
