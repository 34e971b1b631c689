//! Help texts for the token store's paths (`auth/token/<path>?help=1`).

use crate::engines::help::{BackendHelp, PathHelp};

/// The token store's help.
pub static HELP: BackendHelp = BackendHelp {
    description: "The token store: creates, looks up, renews and revokes tokens, the credentials every other request carries. It is mounted at auth/token/ and cannot be disabled.",
    paths: &[
        PathHelp {
            pattern: "create",
            synopsis: "Create a child token.",
            description: "POST writes policies, ttl, explicit_max_ttl, period, num_uses, no_parent, meta and renewable; the new token is a child of the caller (revoked with it).",
        },
        PathHelp {
            pattern: "create/<role>",
            synopsis: "Create a token from a token role.",
            description: "POST creates a token with the role's allowed policies and settings.",
        },
        PathHelp {
            pattern: "create-orphan",
            synopsis: "Create a token without a parent.",
            description: "POST as create, but revoking the caller does not revoke the new token.",
        },
        PathHelp {
            pattern: "lookup-self",
            synopsis: "Look up the calling token.",
            description: "GET returns the caller's policies, TTL, accessor, metadata and use count.",
        },
        PathHelp {
            pattern: "lookup",
            synopsis: "Look up a token.",
            description: "POST {\"token\": ...} returns that token's properties.",
        },
        PathHelp {
            pattern: "lookup-accessor",
            synopsis: "Look up a token by its accessor.",
            description: "POST {\"accessor\": ...} returns the token's properties without the token itself.",
        },
        PathHelp {
            pattern: "renew-self",
            synopsis: "Renew the calling token.",
            description: "POST {\"increment\": \"1h\"} extends the caller's TTL, capped at its max TTL.",
        },
        PathHelp {
            pattern: "renew",
            synopsis: "Renew a token.",
            description: "POST {\"token\": ..., \"increment\": ...} extends that token's TTL.",
        },
        PathHelp {
            pattern: "renew-accessor",
            synopsis: "Renew a token by its accessor.",
            description: "POST {\"accessor\": ..., \"increment\": ...}.",
        },
        PathHelp {
            pattern: "revoke-self",
            synopsis: "Revoke the calling token.",
            description: "POST revokes the caller, its children and their leases.",
        },
        PathHelp {
            pattern: "revoke",
            synopsis: "Revoke a token.",
            description: "POST {\"token\": ...} revokes it, its children and their leases.",
        },
        PathHelp {
            pattern: "revoke-orphan",
            synopsis: "Revoke a token but not its children.",
            description: "POST {\"token\": ...} revokes it; its children become orphans. Needs sudo.",
        },
        PathHelp {
            pattern: "revoke-accessor",
            synopsis: "Revoke a token by its accessor.",
            description: "POST {\"accessor\": ...} revokes the token, its children and their leases.",
        },
        PathHelp {
            pattern: "accessors",
            synopsis: "List token accessors.",
            description: "LIST names the accessors of every token. Needs sudo.",
        },
        PathHelp {
            pattern: "roles",
            synopsis: "List the token roles.",
            description: "LIST names the token roles.",
        },
        PathHelp {
            pattern: "roles/<name>",
            synopsis: "Manage a token role.",
            description: "POST writes allowed_policies, disallowed_policies, orphan, renewable, token_period and the other token_* settings; GET reads; DELETE removes the role.",
        },
        PathHelp {
            pattern: "tidy",
            synopsis: "Clean up the token store.",
            description: "POST is accepted for compatibility: a background task already removes expired tokens.",
        },
    ],
};
