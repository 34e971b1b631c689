//! The credentials `cofre login -method=…` takes as `key=value` arguments, as `vault
//! login` does (`username=bob password=-`, `role_id=… secret_id=@file`, `role=app
//! jwt=@/path`), and the SDK login each method maps to.

use std::collections::BTreeMap;

use cofre_client::auth::Login;
use cofre_client::Client;

use crate::failure::{server_error, Failure};
use crate::key_values;

/// The auth methods `cofre login` knows besides `token`.
pub const METHODS: &[&str] = &["userpass", "approle", "kubernetes", "jwt"];

/// A method's credentials, parsed and checked before anything is sent.
#[derive(Debug, PartialEq)]
pub enum Credentials {
    Userpass {
        username: String,
        password: String,
    },
    AppRole {
        role_id: String,
        secret_id: String,
    },
    /// `jwt: None` reads the pod's service account token.
    Kubernetes {
        role: String,
        jwt: Option<String>,
    },
    Jwt {
        role: String,
        jwt: String,
    },
}

/// Parses `args` (`k=v`, `k=@file`, `k=-`) for `method`; a missing userpass password is
/// asked for on the terminal.
pub fn parse(method: &str, args: &[String]) -> Result<Credentials, Failure> {
    let pairs = key_values::parse_strings(args, &mut std::io::stdin())
        .map_err(|e| Failure::usage(format!("Error parsing configuration: {e}")))?;
    // Values read from stdin or a file (`password=-`, `jwt=@file`) end with the newline
    // that `echo` or an editor put there; it is never part of a credential.
    let mut values: BTreeMap<String, String> = pairs
        .into_iter()
        .map(|(k, v)| (k, v.trim_end_matches(['\n', '\r']).to_string()))
        .collect();
    let mut take = |key: &str| values.remove(key).filter(|v| !v.is_empty());
    let required = |value: Option<String>, key: &str| {
        value.ok_or_else(|| Failure::usage(format!("{key} must be provided for -method={method}")))
    };
    match method {
        "userpass" => {
            let username = required(take("username"), "username")?;
            let password = match take("password") {
                Some(password) => password,
                None => super::prompt_hidden("Password (will be hidden): ")?,
            };
            Ok(Credentials::Userpass { username, password })
        }
        "approle" => Ok(Credentials::AppRole {
            role_id: required(take("role_id"), "role_id")?,
            secret_id: take("secret_id").unwrap_or_default(),
        }),
        "kubernetes" => Ok(Credentials::Kubernetes {
            role: required(take("role"), "role")?,
            jwt: take("jwt"),
        }),
        "jwt" => Ok(Credentials::Jwt {
            role: take("role").unwrap_or_default(),
            jwt: required(take("jwt"), "jwt")?,
        }),
        other => Err(Failure::usage(format!(
            "Unknown auth method: {other}. Use -method=token, {}",
            METHODS.join(", ")
        ))),
    }
}

/// Logs in at `mount` (`""` = the method's default mount).
pub async fn login(
    client: &Client,
    mount: &str,
    credentials: &Credentials,
) -> Result<Login, Failure> {
    let auth = client.auth();
    let result = match credentials {
        Credentials::Userpass { username, password } => {
            auth.userpass(mount).login(username, password).await
        }
        Credentials::AppRole { role_id, secret_id } => {
            auth.approle(mount).login(role_id, secret_id).await
        }
        Credentials::Kubernetes {
            role,
            jwt: Some(jwt),
        } => auth.kubernetes(mount).login(role, jwt).await,
        Credentials::Kubernetes { role, jwt: None } => {
            auth.kubernetes(mount).login_with_pod_token(role).await
        }
        Credentials::Jwt { role, jwt } => auth.jwt(mount).login(role, jwt).await,
    };
    result.map_err(|e| match e {
        cofre_client::Error::Config(message) => {
            Failure::usage(format!("Error authenticating: {message}"))
        }
        other => server_error("Error authenticating", &other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_method_takes_its_keys() {
        assert_eq!(
            parse("userpass", &args(&["username=bob", "password=pw"])).unwrap(),
            Credentials::Userpass {
                username: "bob".into(),
                password: "pw".into()
            }
        );
        assert_eq!(
            parse("approle", &args(&["role_id=r"])).unwrap(),
            Credentials::AppRole {
                role_id: "r".into(),
                secret_id: String::new()
            }
        );
        assert_eq!(
            parse("kubernetes", &args(&["role=app"])).unwrap(),
            Credentials::Kubernetes {
                role: "app".into(),
                jwt: None
            }
        );
        assert_eq!(
            parse("jwt", &args(&["role=ci", "jwt=eyJ"])).unwrap(),
            Credentials::Jwt {
                role: "ci".into(),
                jwt: "eyJ".into()
            }
        );
    }

    #[test]
    fn missing_keys_and_unknown_methods_are_usage_errors() {
        let err = parse("approle", &args(&["secret_id=s"])).unwrap_err();
        assert_eq!(err.code(), 1);
        assert!(err.to_string().contains("role_id"), "{err}");
        assert!(parse("jwt", &args(&["role=ci"])).is_err());
        assert!(parse("ldap", &[])
            .unwrap_err()
            .to_string()
            .contains("Unknown auth method"));
    }

    #[test]
    fn jwt_can_come_from_a_file() {
        let file = std::env::temp_dir().join(format!("cofre-jwt-{}", std::process::id()));
        std::fs::write(&file, "eyJ.file\n").unwrap();
        let parsed = parse(
            "kubernetes",
            &args(&["role=app", &format!("jwt=@{}", file.display())]),
        )
        .unwrap();
        std::fs::remove_file(&file).unwrap();
        match parsed {
            Credentials::Kubernetes { jwt: Some(jwt), .. } => assert_eq!(jwt.trim(), "eyJ.file"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
