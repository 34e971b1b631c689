# An administrator: manages policies, mounts and tokens, but does not read secret values.
path "sys/policies/acl/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

path "sys/mounts/*" {
  capabilities = ["create", "read", "update", "delete", "list", "sudo"]
}

path "sys/mounts" {
  capabilities = ["read"]
}

path "auth/token/*" {
  capabilities = ["create", "read", "update", "delete", "list", "sudo"]
}

path "secret/metadata/*" {
  capabilities = ["read", "list", "delete"]
}
