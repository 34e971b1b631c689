//! One example for every command's `--help`: commands whose own text has none get
//! theirs here, appended as "Example:" when the command tree is built. A test walks the
//! whole tree so a new command without an example fails the build's tests.

use clap::Command;

/// (command path without `cofre`, example line).
const EXAMPLES: &[(&str, &str)] = &[
    ("server", "cofre server -dev -dev-root-token-id=root"),
    ("status", "cofre status -format=json"),
    (
        "operator",
        "cofre operator init -key-shares=5 -key-threshold=3",
    ),
    (
        "operator init",
        "cofre operator init -key-shares=5 -key-threshold=3",
    ),
    ("operator unseal", "cofre operator unseal"),
    ("operator seal", "cofre operator seal"),
    ("operator rotate", "cofre operator rotate"),
    ("operator key-status", "cofre operator key-status"),
    ("operator snapshot", "cofre operator snapshot save cofre.snap"),
    ("operator snapshot save", "cofre operator snapshot save /backups/cofre-$(date +%F).snap"),
    ("operator snapshot restore", "cofre operator snapshot restore /backups/cofre-2026-11-23.snap"),
    (
        "operator migrate",
        "cofre operator migrate -from sled:/var/lib/cofre -to 'postgresql:postgres://cofre@db/cofre'",
    ),
    ("kv", "cofre kv get -field=password secret/app"),
    ("kv delete", "cofre kv delete -versions=1,2 secret/app"),
    ("kv undelete", "cofre kv undelete -versions=2 secret/app"),
    ("kv destroy", "cofre kv destroy -versions=1 secret/app"),
    ("kv list", "cofre kv list secret/"),
    ("kv metadata", "cofre kv metadata get secret/app"),
    ("kv metadata get", "cofre kv metadata get secret/app"),
    (
        "kv metadata put",
        "cofre kv metadata put -max-versions=5 secret/app",
    ),
    ("kv metadata delete", "cofre kv metadata delete secret/app"),
    (
        "policy",
        "cofre policy write app-reader policies/app-reader.hcl",
    ),
    (
        "policy write",
        "cofre policy write app-reader policies/app-reader.hcl",
    ),
    ("policy read", "cofre policy read app-reader"),
    ("policy list", "cofre policy list"),
    ("policy delete", "cofre policy delete app-reader"),
    ("policy fmt", "cofre policy fmt policies/app-reader.hcl"),
    ("policy check", "cofre policy check policies/*.hcl"),
    ("token", "cofre token create -policy=app-reader -ttl=1h"),
    (
        "token create",
        "cofre token create -policy=app-reader -ttl=1h -format=json",
    ),
    ("token lookup", "cofre token lookup -accessor ACCESSOR"),
    ("token renew", "cofre token renew -increment=30m"),
    ("token revoke", "cofre token revoke -mode=orphan s.XXXXXXXX"),
    (
        "token capabilities",
        "cofre token capabilities secret/data/app",
    ),
    (
        "lease",
        "cofre lease revoke -prefix database/creds/readonly",
    ),
    (
        "lease lookup",
        "cofre lease lookup database/creds/readonly/AbC123",
    ),
    ("auth", "cofre auth enable userpass"),
    ("auth enable", "cofre auth enable -path=ci jwt"),
    ("auth disable", "cofre auth disable ci/"),
    ("auth list", "cofre auth list -format=json"),
    ("auth tune", "cofre auth tune -default-lease-ttl=1h userpass/"),
    ("secrets", "cofre secrets enable -path=team -version=2 kv"),
    (
        "secrets enable",
        "cofre secrets enable -path=team -version=2 kv",
    ),
    ("secrets disable", "cofre secrets disable team/"),
    ("secrets list", "cofre secrets list -detailed"),
    ("secrets move", "cofre secrets move team/ platform/"),
    (
        "secrets tune",
        "cofre secrets tune -max-lease-ttl=24h database/",
    ),
    ("read", "cofre read -field=ttl auth/token/lookup-self"),
    (
        "write",
        "cofre write database/roles/ro db_name=pg creation_statements=@create.sql",
    ),
    ("list", "cofre list sys/policies/acl"),
    ("unwrap", "cofre unwrap s.AbCd…"),
    ("delete", "cofre delete kv/app"),
    ("print", "cofre print token"),
    ("print token", "cofre print token"),
    ("audit", "cofre audit verify /var/log/cofre/audit.log"),
    ("audit list", "cofre audit list -detailed"),
    (
        "audit enable",
        "cofre audit enable file file_path=/var/log/cofre/audit.log",
    ),
    ("audit disable", "cofre audit disable file/"),
    ("audit hash", "cofre audit hash file/ s3cret"),
    (
        "audit verify",
        "cofre audit verify /var/log/cofre/audit.log",
    ),
    ("version", "cofre version"),
    (
        "completion",
        "cofre completion bash > /etc/bash_completion.d/cofre",
    ),
];

/// Adds the table's example to every command of the tree whose help has none.
pub fn add(command: Command) -> Command {
    add_at(command, "")
}

fn add_at(mut command: Command, path: &str) -> Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| add_at(sub, &sub_path));
    }
    if has_example(&command) {
        return command;
    }
    match EXAMPLES.iter().find(|(p, _)| *p == path) {
        Some((_, example)) => command.after_long_help(format!("Example:\n  {example}")),
        None => command,
    }
}

fn has_example(command: &Command) -> bool {
    [
        command.get_long_about(),
        command.get_after_long_help(),
        command.get_after_help(),
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_string().contains("Example"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn missing(command: &Command, path: &str, out: &mut Vec<String>) {
        if !path.is_empty() && !has_example(command) {
            out.push(path.to_string());
        }
        for sub in command.get_subcommands() {
            let sub_path = if path.is_empty() {
                sub.get_name().to_string()
            } else {
                format!("{path} {}", sub.get_name())
            };
            missing(sub, &sub_path, out);
        }
    }

    #[test]
    fn every_command_has_an_example() {
        let command = add(<crate::Cli as clap::CommandFactory>::command());
        let mut out = Vec::new();
        missing(&command, "", &mut out);
        assert!(out.is_empty(), "commands without an example: {out:?}");
    }
}
