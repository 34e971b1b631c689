# A trusted orchestrator (the CI server itself) for AppRole logins: it reads the `ci` role's
# role ID and hands each pipeline run a fresh secret ID, and nothing else: it cannot change
# the role, read its secret IDs back, or issue secret IDs for any other role. The pipeline
# logs in with `auth/approle/login` (role_id + secret_id) and gets the role's policies
# (e.g. ci-deployer).
path "auth/approle/role/ci/role-id" {
  capabilities = ["read"]
}

path "auth/approle/role/ci/secret-id" {
  capabilities = ["update"]
}
