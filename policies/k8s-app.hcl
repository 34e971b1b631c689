# A Kubernetes workload logged in through auth/kubernetes (role bound to its service
# account): reads its own application's secrets and nothing else.
path "secret/data/k8s/app/*" {
  capabilities = ["read"]
}

path "secret/metadata/k8s/app/*" {
  capabilities = ["list"]
}
