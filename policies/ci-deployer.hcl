# A CI pipeline: reads deployment credentials, never production root credentials, and may
# mint short-lived child tokens for the steps it runs.
path "secret/data/ci/*" {
  capabilities = ["read"]
}

path "secret/data/ci/prod/*" {
  capabilities = ["deny"]
}

path "auth/token/create" {
  capabilities = ["update"]
  allowed_parameters = {
    "ttl"      = ["10m", "30m", "1h"]
    "policies" = []
  }
}
