# syntax=docker/dockerfile:1
# Cofre container image.
#
#   docker build -t cofre:dev \
#     --build-arg VERSION="$(cargo metadata --no-deps --format-version 1 | jq -r '.packages[]|select(.name=="cofre").version')" \
#     --build-arg GIT_SHA="$(git rev-parse HEAD)" .
#   docker run --rm -p 8200:8200 -v cofre-data:/var/lib/cofre cofre:dev
#
# Two stages: a Rust builder (dependencies compiled in their own cached layer, then the
# sources) and a distroless runtime that holds only the `cofre` binary, a default config
# and an empty data directory. Nothing secret is passed to or stored in any layer: TLS
# keys, unseal keys and tokens are mounted or typed at run time.
# Base images are pinned by version; pin them by digest too (Renovate/Dependabot) when the
# registry is reachable from where the image is built.

ARG RUST_IMAGE=rust:1.95.0-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG CLI_IMAGE=debian:12.12-slim

############################ builder ############################
FROM ${RUST_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. Dependencies only: the real manifests and lock file with stub sources (an empty
#    file at every target path the manifests declare: libs, bins, tests, benches), so
#    this layer is rebuilt only when a Cargo.toml, Cargo.lock or the stub script change.
#    A new workspace member needs its Cargo.toml COPYed here and its sources below.
COPY Cargo.toml Cargo.lock ./
COPY server/Cargo.toml server/Cargo.toml
COPY client/Cargo.toml client/Cargo.toml
COPY cli/Cargo.toml cli/Cargo.toml
COPY deploy/docker/stub-workspace.sh /usr/local/bin/stub-workspace
RUN stub-workspace server client cli \
 && cargo build --release --locked -p cofre

# 2. The sources (they replace the stubs; stubs of benches stay, nothing builds them),
#    and cli/build.rs with the start-up code layout it links by (see cli/build.rs).
#    Touch the crate roots so cargo rebuilds them over the stubs.
COPY server/src server/src
COPY client/src client/src
COPY cli/src cli/src
COPY cli/build.rs cli/build.rs
COPY cli/layout cli/layout
COPY tests tests
RUN touch server/src/lib.rs client/src/lib.rs cli/src/main.rs \
 && cargo build --release --locked -p cofre \
 && install -D -m 0755 target/release/cofre /out/usr/local/bin/cofre \
 && /out/usr/local/bin/cofre version \
 && install -d -m 0700 /out/var/lib/cofre

############################ cli ############################
# `docker build --target cli -t cofre:VERSION-cli .`: the same binary on debian-slim,
# with a shell, for scripts and Kubernetes init containers that write a secret to a
# file (deploy/k8s/examples). No CA bundle: pass the server's CA with COFRE_CACERT.
FROM ${CLI_IMAGE} AS cli
ARG VERSION=0.0.0-dev
ARG GIT_SHA=unknown
LABEL org.opencontainers.image.title="cofre-cli" \
      org.opencontainers.image.description="The cofre CLI with a shell, for scripts and init containers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.licenses="MPL-2.0"
COPY --from=builder /out/usr/local/bin/cofre /usr/local/bin/cofre
ENV HOME=/tmp
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/cofre"]
HEALTHCHECK NONE
CMD ["--help"]

############################ runtime (default target) ############################
FROM ${RUNTIME_IMAGE} AS runtime
ARG VERSION=0.0.0-dev
ARG GIT_SHA=unknown
ARG BUILD_DATE=unknown
LABEL org.opencontainers.image.title="cofre" \
      org.opencontainers.image.description="Cofre: a secrets vault server compatible with the Vault/OpenBao HTTP API and CLI" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_SHA}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.licenses="MPL-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /out/usr/local/bin/cofre /usr/local/bin/cofre
# The distroless "nonroot" user is 65532:65532; it owns the data directory.
COPY --from=builder --chown=65532:65532 /out/var/lib/cofre /var/lib/cofre
COPY deploy/docker/cofre.hcl /etc/cofre/cofre.hcl

# Client commands run with `docker exec` (status, operator unseal, ...) talk to the
# server in the same container. With a TLS listener set COFRE_ADDR=https://... and
# COFRE_CACERT at run time.
ENV COFRE_ADDR=http://127.0.0.1:8200
USER 65532:65532
VOLUME ["/var/lib/cofre"]
EXPOSE 8200

# No shell or curl in distroless: the check is the binary itself (exec form).
# `cofre status` exits 0 when the server answers and is unsealed, 2 when it is sealed or
# uninitialised and 1 when it does not answer, so a sealed container shows "unhealthy"
# until it is unsealed (Kubernetes uses its own probes, see deploy/k8s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/cofre", "status", "-format=json"]

ENTRYPOINT ["/usr/local/bin/cofre"]
CMD ["server", "-config", "/etc/cofre/cofre.hcl"]
