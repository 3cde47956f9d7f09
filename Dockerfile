# syntax=docker/dockerfile:1
#
# Songnuan (送暖) API server and background worker.
#
#   docker build -t songnuan .
#   docker run --rm -p 8080:8080 -e SONGNUAN_SECRET=... songnuan          # api
#   docker run --rm -e SONGNUAN_SECRET=... songnuan worker                # worker
#
# See docker-compose.yml for the full stack (PostgreSQL, Redis, 2 API replicas
# behind nginx, worker).

############################ builder ############################
FROM rust:1.95-bookworm AS builder
WORKDIR /src

# 1) Dependency layer: only the manifests plus stub sources, so the (slow)
#    compile of third-party crates is cached until Cargo.toml/Cargo.lock change.
#    Keep this list in step with the workspace members in Cargo.toml.
COPY Cargo.toml Cargo.lock ./
COPY entities/Cargo.toml  entities/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY sheet/Cargo.toml     sheet/Cargo.toml
COPY domain/Cargo.toml    domain/Cargo.toml
COPY api/Cargo.toml       api/Cargo.toml
COPY worker/Cargo.toml    worker/Cargo.toml
COPY tests/Cargo.toml     tests/Cargo.toml
COPY bench/Cargo.toml     bench/Cargo.toml
# The stubs are removed afterwards so none lingers next to the real sources;
# the compiled third-party dependencies stay in target/.
RUN set -eux; \
    for c in entities migration sheet domain api worker tests bench; do \
        mkdir -p "$c/src"; \
        : > "$c/src/lib.rs"; \
        echo 'fn main() {}' > "$c/src/main.rs"; \
    done; \
    cargo build --release --locked -p api -p worker; \
    rm -rf entities/src migration/src sheet/src domain/src api/src worker/src tests/src bench/src

# 2) The real sources, including api/assets/ (GraphiQL), which the api binary
#    must embed at compile time: the runtime image carries only the binaries.
COPY entities  entities
COPY migration migration
COPY sheet     sheet
COPY domain    domain
COPY api       api
COPY worker    worker
COPY demo      demo
COPY tests     tests
COPY bench     bench
# COPY keeps the files' original mtimes, which may be older than the stub
# artifacts: touch them so cargo always rebuilds the workspace crates.
RUN set -eux; \
    find entities migration sheet domain api worker tests bench -type f -exec touch {} +; \
    cargo build --release --locked -p api -p worker; \
    install -m 0755 target/release/api    /usr/local/bin/api; \
    install -m 0755 target/release/worker /usr/local/bin/worker

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

# ca-certificates: TLS to external services; curl: container healthchecks
# (`curl -fsS http://127.0.0.1:8080/ready`).
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 songnuan; \
    useradd --system --uid 10001 --gid songnuan --home-dir /var/lib/songnuan \
        --no-create-home --shell /usr/sbin/nologin songnuan; \
    install -d -o songnuan -g songnuan -m 0750 /var/lib/songnuan

COPY --from=builder /usr/local/bin/api    /usr/local/bin/api
COPY --from=builder /usr/local/bin/worker /usr/local/bin/worker

ENV SONGNUAN_DATA_DIR=/var/lib/songnuan \
    SONGNUAN_LISTEN=0.0.0.0:8080 \
    RUST_LOG=info

USER songnuan:songnuan
WORKDIR /var/lib/songnuan
VOLUME ["/var/lib/songnuan"]
EXPOSE 8080

CMD ["api"]
