# Local development configuration used by docker-compose.yml: sled storage on the
# cofre-data volume, a plain-HTTP listener (published on 127.0.0.1 only), verbose logs.
# Not for production: there the listener has TLS (see deploy/k8s/overlays/prod).
storage "sled" {
  path = "/var/lib/cofre"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

api_addr          = "http://127.0.0.1:8200"
default_lease_ttl = "24h"
max_lease_ttl     = "768h"
log_level         = "debug"
log_format        = "standard"
