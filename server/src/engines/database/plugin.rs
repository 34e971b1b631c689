//! What differs between the database kinds: plugin names, username defaults, identifier
//! quoting, the default revocation/renewal/rotation SQL, and turning a `connection_url`
//! (PostgreSQL URL, MySQL Go DSN or `mysql://` URL) into a driver URL.

use std::fmt::Write as _;

/// The database kind behind a `plugin_name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    MySql,
}

/// A known `plugin_name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plugin {
    pub kind: Kind,
    /// The aurora/rds/legacy MySQL plugins keep MySQL 5.6's 16-character user names.
    legacy_mysql: bool,
}

/// Every plugin name we accept, for the error message.
const NAMES: &str = "postgresql-database-plugin, mysql-database-plugin, \
    mysql-aurora-database-plugin, mysql-rds-database-plugin, mysql-legacy-database-plugin";

impl Plugin {
    pub const POSTGRES: Plugin = Plugin {
        kind: Kind::Postgres,
        legacy_mysql: false,
    };

    pub fn from_name(name: &str) -> Result<Self, String> {
        let (kind, legacy_mysql) = match name {
            "postgresql-database-plugin" => (Kind::Postgres, false),
            "mysql-database-plugin" => (Kind::MySql, false),
            "mysql-aurora-database-plugin"
            | "mysql-rds-database-plugin"
            | "mysql-legacy-database-plugin" => (Kind::MySql, true),
            "" => return Err("plugin_name is required".into()),
            other => {
                return Err(format!(
                    "unknown plugin_name {other:?}: supported are {NAMES}"
                ))
            }
        };
        Ok(Self { kind, legacy_mysql })
    }

    pub fn is_postgres(self) -> bool {
        self.kind == Kind::Postgres
    }

    /// Vault's default `username_template` for this plugin.
    pub fn default_username_template(self) -> &'static str {
        match (self.kind, self.legacy_mysql) {
            (Kind::Postgres, _) => {
                r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}"#
            }
            (Kind::MySql, false) => {
                r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}"#
            }
            (Kind::MySql, true) => {
                r#"{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}"#
            }
        }
    }

    /// The longest user name the database takes (PostgreSQL's NAMEDATALEN - 1).
    pub fn max_username_len(self) -> usize {
        match (self.kind, self.legacy_mysql) {
            (Kind::Postgres, _) => 63,
            (Kind::MySql, false) => 32,
            (Kind::MySql, true) => 16,
        }
    }

    /// `ALTER` statement template that sets a user's password (rotations).
    pub fn default_rotation_statement(self) -> &'static str {
        match self.kind {
            Kind::Postgres => r#"ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}'"#,
            Kind::MySql => "ALTER USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'",
        }
    }

    /// Renewal without `renew_statements`: PostgreSQL moves `VALID UNTIL`; MySQL has no
    /// expiry to move.
    pub fn default_renew_statement(self) -> Option<&'static str> {
        match self.kind {
            Kind::Postgres => Some(r#"ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}'"#),
            Kind::MySql => None,
        }
    }
}

/// `name` as a PostgreSQL identifier: double quotes, embedded quotes doubled.
pub fn quote_pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `text` as a SQL string literal: single quotes, embedded quotes (and, for MySQL,
/// backslashes) doubled.
pub fn quote_literal(text: &str, kind: Kind) -> String {
    let escaped = text.replace('\'', "''");
    match kind {
        Kind::Postgres => format!("'{escaped}'"),
        Kind::MySql => format!("'{}'", escaped.replace('\\', "\\\\")),
    }
}

/// Builds the driver URL: fills `{{username}}`/`{{password}}` (percent-encoded unless
/// `disable_escaping`) and, for MySQL, rewrites a Go DSN into a `mysql://` URL.
pub fn driver_url(
    kind: Kind,
    template: &str,
    username: &str,
    password: &str,
    disable_escaping: bool,
) -> Result<String, String> {
    let escape = |s: &str| {
        if disable_escaping {
            s.to_string()
        } else {
            percent_encode(s)
        }
    };
    let filled = template
        .replace("{{username}}", &escape(username))
        .replace("{{password}}", &escape(password));
    match kind {
        Kind::Postgres => {
            if filled.starts_with("postgres://") || filled.starts_with("postgresql://") {
                Ok(filled)
            } else {
                Err("connection_url must be a postgres:// or postgresql:// URL".into())
            }
        }
        Kind::MySql if filled.starts_with("mysql://") || filled.starts_with("mariadb://") => {
            Ok(filled)
        }
        Kind::MySql => go_dsn_to_url(&filled),
    }
}

/// `user:pass@tcp(host:port)/db?params` (go-sql-driver's DSN) → `mysql://user:pass@host:port/db`.
/// `tls=true|skip-verify|preferred|false` becomes `ssl-mode`; other parameters are dropped.
pub fn go_dsn_to_url(dsn: &str) -> Result<String, String> {
    let (credentials, rest) = match dsn.rfind('@') {
        Some(at) => (&dsn[..at], &dsn[at + 1..]),
        None => ("", dsn),
    };
    // The address may hold slashes itself (`unix(/run/mysqld.sock)`).
    let address_end = match rest.find('(') {
        Some(_) => rest.find(')').map_or(rest.len(), |i| i + 1),
        None => 0,
    };
    let slash = rest[address_end..]
        .find('/')
        .map(|i| i + address_end)
        .ok_or("connection_url is not a MySQL DSN: missing \"/\" before the database name")?;
    let (address, db_and_params) = (&rest[..slash], &rest[slash + 1..]);
    let (database, params) = db_and_params.split_once('?').unwrap_or((db_and_params, ""));
    let mut url = String::from("mysql://");
    if !credentials.is_empty() {
        let _ = write!(url, "{credentials}@");
    }
    let mut query = Vec::new();
    match address.split_once('(') {
        None if address.is_empty() => url.push_str("127.0.0.1:3306"),
        None => url.push_str(address),
        Some((protocol, inner)) => {
            let inner = inner
                .strip_suffix(')')
                .ok_or("connection_url is not a MySQL DSN: unclosed \"(\"")?;
            match protocol {
                "tcp" if inner.is_empty() => url.push_str("127.0.0.1:3306"),
                "tcp" => url.push_str(inner),
                "unix" => {
                    url.push_str("localhost");
                    query.push(format!("socket={inner}"));
                }
                other => return Err(format!("unsupported MySQL DSN protocol {other:?}")),
            }
        }
    }
    let _ = write!(url, "/{database}");
    for param in params.split('&').filter(|p| !p.is_empty()) {
        if let Some(mode) = param.strip_prefix("tls=") {
            let ssl_mode = match mode {
                "true" => "verify_identity",
                "skip-verify" => "required",
                "preferred" => "preferred",
                "false" => "disabled",
                other => return Err(format!("unsupported tls mode {other:?} in connection_url")),
            };
            query.push(format!("ssl-mode={ssl_mode}"));
        }
    }
    if !query.is_empty() {
        let _ = write!(url, "?{}", query.join("&"));
    }
    Ok(url)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names() {
        assert!(Plugin::from_name("postgresql-database-plugin").is_ok_and(|p| p.is_postgres()));
        for name in ["mysql-rds-database-plugin", "mysql-aurora-database-plugin"] {
            assert_eq!(
                Plugin::from_name(name).map(|p| p.max_username_len()),
                Ok(16)
            );
        }
        assert_eq!(
            Plugin::from_name("mysql-database-plugin").map(|p| p.max_username_len()),
            Ok(32)
        );
        let err = Plugin::from_name("mongodb-database-plugin")
            .err()
            .unwrap_or_default();
        assert!(err.contains("mongodb-database-plugin"), "{err}");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_pg_ident(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(quote_literal("o'k", Kind::Postgres), "'o''k'");
        assert_eq!(quote_literal(r"a\'", Kind::MySql), r"'a\\'''");
    }

    #[test]
    fn go_dsns_become_urls() {
        let cases = [
            ("u:p@tcp(127.0.0.1:3306)/", "mysql://u:p@127.0.0.1:3306/"),
            (
                "u:p@tcp(db:3307)/app?parseTime=true&tls=skip-verify",
                "mysql://u:p@db:3307/app?ssl-mode=required",
            ),
            ("u@/", "mysql://u@127.0.0.1:3306/"),
            (
                "u:p@unix(/run/mysqld.sock)/x",
                "mysql://u:p@localhost/x?socket=/run/mysqld.sock",
            ),
            ("root@tcp()/", "mysql://root@127.0.0.1:3306/"),
        ];
        for (dsn, url) in cases {
            assert_eq!(go_dsn_to_url(dsn).as_deref(), Ok(url), "{dsn}");
        }
        assert!(go_dsn_to_url("u:p@tcp(h:1").is_err());
        assert!(go_dsn_to_url("u:p@udp(h:1)/").is_err());
        assert!(go_dsn_to_url("nohost").is_err());
    }

    #[test]
    fn credentials_are_escaped_into_the_url() {
        let url = driver_url(
            Kind::MySql,
            "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
            "a@b",
            "p:w/d",
            false,
        );
        assert_eq!(
            url.as_deref(),
            Ok("mysql://a%40b:p%3Aw%2Fd@127.0.0.1:3306/")
        );
        let pg = driver_url(
            Kind::Postgres,
            "postgresql://{{username}}:{{password}}@127.0.0.1:5432/postgres",
            "u",
            "p",
            true,
        );
        assert_eq!(
            pg.as_deref(),
            Ok("postgresql://u:p@127.0.0.1:5432/postgres")
        );
        assert!(driver_url(Kind::Postgres, "host=x user=y", "u", "p", false).is_err());
    }
}
