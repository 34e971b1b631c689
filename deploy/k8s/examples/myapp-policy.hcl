# What the example app may do: read its own KV v2 secrets. (Revoking its own token is
# allowed by the built-in `default` policy.)
path "secret/data/myapp/*" {
  capabilities = ["read"]
}
