# An application that reads its own secrets (KV v2 at secret/, under myapp/) at startup.
path "secret/data/myapp/*" {
  capabilities = ["read"]
}

path "secret/metadata/myapp/*" {
  capabilities = ["list"]
}
