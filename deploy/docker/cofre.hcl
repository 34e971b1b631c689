# The image's default configuration: sled storage on the /var/lib/cofre volume and a
# plain-HTTP listener on all interfaces. Good for trying the image and for local
# development; in production mount your own /etc/cofre/cofre.hcl with a TLS listener
# (tls_cert_file / tls_key_file), as deploy/k8s/overlays/prod does.
storage "sled" {
  path = "/var/lib/cofre"
}

listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

log_level  = "info"
log_format = "json"
