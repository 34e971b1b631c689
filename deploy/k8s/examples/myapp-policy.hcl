# What the example app may do: read its own KV v2 secrets, renew its own token.
path "secret/data/myapp/*" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
