//! Help texts for the system backend's paths (`sys/<path>?help=1`).

use crate::engines::help::{BackendHelp, PathHelp};

/// The system backend's help.
pub static HELP: BackendHelp = BackendHelp {
    description: "The system backend: seal and unseal, mounts and auth methods, ACL policies, capabilities, leases, quotas, audit devices and snapshots. It is mounted at sys/ and cannot be moved.",
    paths: &[
        PathHelp {
            pattern: "health",
            synopsis: "Health of the server: initialised, sealed, active.",
            description: "GET answers 200 when unsealed and active, 503 when sealed, 501 when not initialised (the codes can be changed with ?sealedcode= and friends). Needs no token.",
        },
        PathHelp {
            pattern: "seal-status",
            synopsis: "Seal state and unseal progress.",
            description: "GET returns sealed, t (threshold), n (shares), progress and the version. Needs no token.",
        },
        PathHelp {
            pattern: "init",
            synopsis: "Initialise a new server.",
            description: "GET tells whether the server is initialised; POST {\"secret_shares\": N, \"secret_threshold\": T} creates the keys and returns the unseal key shares and the root token. Needs no token.",
        },
        PathHelp {
            pattern: "unseal",
            synopsis: "Submit an unseal key share.",
            description: "POST {\"key\": ...} adds a share; once the threshold is reached the server unseals. {\"reset\": true} discards the shares given so far. Needs no token.",
        },
        PathHelp {
            pattern: "leader",
            synopsis: "The active node of an HA cluster.",
            description: "GET returns ha_enabled, is_self and the leader's address. Needs no token.",
        },
        PathHelp {
            pattern: "seal",
            synopsis: "Seal the server.",
            description: "POST seals: keys leave memory and every request but the unauthenticated ones answers 503 until unsealed. Needs sudo.",
        },
        PathHelp {
            pattern: "rotate",
            synopsis: "Add a new encryption key term.",
            description: "POST adds a key to the keyring; new writes use it, old values stay readable. Needs sudo.",
        },
        PathHelp {
            pattern: "key-status",
            synopsis: "The current encryption key term.",
            description: "GET returns the term and when it was installed. Needs sudo.",
        },
        PathHelp {
            pattern: "mounts",
            synopsis: "List the secrets engines.",
            description: "GET returns every mounted secrets engine with its type, options and settings.",
        },
        PathHelp {
            pattern: "mounts/<path*>",
            synopsis: "Mount, read, unmount or tune a secrets engine.",
            description: "POST mounts an engine ({\"type\": \"kv\", \"options\": {...}}), GET reads its entry, DELETE unmounts it and revokes its leases; mounts/<path>/tune reads or changes its TTLs and settings.",
        },
        PathHelp {
            pattern: "auth",
            synopsis: "List the auth methods.",
            description: "GET returns every enabled auth method with its type and settings.",
        },
        PathHelp {
            pattern: "auth/<path*>",
            synopsis: "Enable, read, disable or tune an auth method.",
            description: "POST enables a method ({\"type\": \"userpass\"}), DELETE disables it, auth/<path>/tune reads or changes its settings. Changing needs sudo.",
        },
        PathHelp {
            pattern: "remount",
            synopsis: "Move a mount to a new path.",
            description: "POST {\"from\": ..., \"to\": ...} moves a secrets engine or auth method; its data moves with it.",
        },
        PathHelp {
            pattern: "remount/status/<id>",
            synopsis: "Progress of a remount.",
            description: "GET returns the status of the move with this migration id.",
        },
        PathHelp {
            pattern: "policy",
            synopsis: "List the ACL policies (legacy path).",
            description: "GET lists the policy names, as sys/policies/acl does.",
        },
        PathHelp {
            pattern: "policy/<name>",
            synopsis: "Manage an ACL policy (legacy path).",
            description: "GET, PUT and DELETE a policy, as sys/policies/acl/<name>.",
        },
        PathHelp {
            pattern: "policies/acl",
            synopsis: "List the ACL policies.",
            description: "LIST names every ACL policy.",
        },
        PathHelp {
            pattern: "policies/acl/<name>",
            synopsis: "Manage an ACL policy.",
            description: "PUT {\"policy\": \"<HCL or JSON>\"} creates or replaces it, GET reads its text, DELETE removes it.",
        },
        PathHelp {
            pattern: "capabilities",
            synopsis: "What a token may do on paths.",
            description: "POST {\"token\": ..., \"paths\": [...]} returns the capabilities of that token on each path.",
        },
        PathHelp {
            pattern: "capabilities-self",
            synopsis: "What the calling token may do on paths.",
            description: "POST {\"paths\": [...]} returns the caller's capabilities on each path.",
        },
        PathHelp {
            pattern: "capabilities-accessor",
            synopsis: "What the token with an accessor may do on paths.",
            description: "POST {\"accessor\": ..., \"paths\": [...]} returns that token's capabilities on each path.",
        },
        PathHelp {
            pattern: "internal/ui/mounts",
            synopsis: "The mounts the calling token may use.",
            description: "GET lists the secrets engines and auth methods visible to the token.",
        },
        PathHelp {
            pattern: "internal/ui/mounts/<path*>",
            synopsis: "The mount serving a path.",
            description: "GET returns the mount's type and options (the CLI asks it to tell KV v1 from v2).",
        },
        PathHelp {
            pattern: "leases/lookup",
            synopsis: "Look up or list leases.",
            description: "POST {\"lease_id\": ...} returns the lease's issue and expiry times; LIST leases/lookup/<prefix> names leases (needs sudo).",
        },
        PathHelp {
            pattern: "leases/lookup/<prefix*>",
            synopsis: "List leases under a prefix.",
            description: "LIST names the leases issued below this path. Needs sudo.",
        },
        PathHelp {
            pattern: "leases/renew",
            synopsis: "Renew a lease.",
            description: "POST {\"lease_id\": ..., \"increment\": \"1h\"} extends it, capped at its max TTL.",
        },
        PathHelp {
            pattern: "leases/revoke",
            synopsis: "Revoke a lease.",
            description: "POST {\"lease_id\": ...} revokes the secret now (?sync=false queues it).",
        },
        PathHelp {
            pattern: "leases/revoke-prefix/<prefix*>",
            synopsis: "Revoke every lease under a prefix.",
            description: "POST revokes all leases issued below the path. Needs sudo.",
        },
        PathHelp {
            pattern: "leases/revoke-force/<prefix*>",
            synopsis: "Remove leases without revoking their secrets.",
            description: "POST drops the leases below the path without asking the engine to revoke them. Needs sudo.",
        },
        PathHelp {
            pattern: "leases/tidy",
            synopsis: "Clean up the lease index.",
            description: "POST removes index entries of leases that no longer exist.",
        },
        PathHelp {
            pattern: "leases/count",
            synopsis: "Count the leases.",
            description: "GET returns the number of live leases.",
        },
        PathHelp {
            pattern: "renew/<lease*>",
            synopsis: "Renew a lease (legacy path).",
            description: "As sys/leases/renew.",
        },
        PathHelp {
            pattern: "revoke/<lease*>",
            synopsis: "Revoke a lease (legacy path).",
            description: "As sys/leases/revoke.",
        },
        PathHelp {
            pattern: "revoke-prefix/<prefix*>",
            synopsis: "Revoke leases under a prefix (legacy path).",
            description: "As sys/leases/revoke-prefix. Needs sudo.",
        },
        PathHelp {
            pattern: "revoke-force/<prefix*>",
            synopsis: "Remove leases under a prefix (legacy path).",
            description: "As sys/leases/revoke-force. Needs sudo.",
        },
        PathHelp {
            pattern: "quotas/config",
            synopsis: "Quota settings.",
            description: "GET reads and POST writes the global quota settings.",
        },
        PathHelp {
            pattern: "quotas/rate-limit",
            synopsis: "List the rate-limit quotas.",
            description: "LIST names the rate-limit rules.",
        },
        PathHelp {
            pattern: "quotas/rate-limit/<name>",
            synopsis: "Manage a rate-limit quota.",
            description: "POST writes rate, interval, path and role; GET reads; DELETE removes it. Requests over the rate answer 429.",
        },
        PathHelp {
            pattern: "quotas/lease-count",
            synopsis: "List the lease-count quotas.",
            description: "LIST names the lease-count rules.",
        },
        PathHelp {
            pattern: "quotas/lease-count/<name>",
            synopsis: "Manage a lease-count quota.",
            description: "POST writes max_leases and path; GET reads; DELETE removes it.",
        },
        PathHelp {
            pattern: "audit",
            synopsis: "List the audit devices.",
            description: "GET returns every enabled audit device. Needs sudo.",
        },
        PathHelp {
            pattern: "audit/<path>",
            synopsis: "Enable or disable an audit device.",
            description: "POST {\"type\": \"file\", \"options\": {\"file_path\": ...}} enables a device, DELETE disables it. Needs sudo.",
        },
        PathHelp {
            pattern: "audit-hash/<path>",
            synopsis: "Hash a value as an audit device does.",
            description: "POST {\"input\": ...} returns the hmac-sha256 the device would write for it.",
        },
        PathHelp {
            pattern: "storage/snapshot",
            synopsis: "Save or restore a snapshot of the storage.",
            description: "GET returns every stored (encrypted) value in one blob; POST restores such a blob and seals the server. Needs sudo.",
        },
        PathHelp {
            pattern: "ha-status",
            synopsis: "The nodes of an HA cluster.",
            description: "GET lists the nodes sharing this server's storage.",
        },
        PathHelp {
            pattern: "metrics",
            synopsis: "Server metrics.",
            description: "GET returns request, storage and lease metrics (?format=prometheus for Prometheus text).",
        },
    ],
};
