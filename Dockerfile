# libchat-server in a container. See docs/operations.md.
#
#   docker build -t libchat-server .
#   docker run -d --name libchat -p 8080:8080 -v libchat-data:/var/lib/libchat \
#     -e CHAT_PUBLIC_URL=https://chat.example.com --stop-timeout 90 libchat-server
#   docker exec libchat libchat-server backup /var/lib/libchat/backup-$(date +%F).db
#
# Build stage: the Debian 12 packages of scripts/setup.sh that the server needs to compile (not the test tools),
# then only the libchat-server target.
FROM debian:12-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libasio-dev libfmt-dev nlohmann-json3-dev libsqlite3-dev libssl-dev libargon2-dev libcurl4-openssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DLIBCHAT_BUILD_TESTS=OFF -DLIBCHAT_BUILD_EXAMPLES=OFF -DLIBCHAT_BUILD_BENCH=OFF \
      -DLIBCHAT_BUILD_BINDINGS=OFF -DLIBCHAT_BUILD_SERVER=ON \
 && cmake --build /build --target libchat-server \
 && strip /build/server/libchat-server

# Runtime stage: the shared libraries the binary links (SQLite, libcurl, Argon2, OpenSSL, fmt), CA certificates
# for webhook and email TLS, and curl for the health check. The web assets and the OpenAPI document are compiled in.
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libsqlite3-0 libcurl4 libargon2-1 libssl3 libfmt9 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 libchat \
 && useradd --system --uid 10001 --gid libchat --home-dir /var/lib/libchat --shell /usr/sbin/nologin libchat \
 && install -d -m 0700 -o libchat -g libchat /var/lib/libchat
COPY --from=build /build/server/libchat-server /usr/local/bin/libchat-server

# The database, its -wal/-shm files and the secrets key file (<db>.key) live in the volume.
ENV CHAT_LISTEN=0.0.0.0:8080 \
    CHAT_DB=/var/lib/libchat/libchat.db
VOLUME ["/var/lib/libchat"]
WORKDIR /var/lib/libchat
USER libchat:libchat
EXPOSE 8080

# GET /health is 200 {"status":"ok",...} while the store can commit, 503 otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD curl -fsS --max-time 4 http://127.0.0.1:8080/health >/dev/null || exit 1

# SIGTERM stops gracefully; give it time (docker run --stop-timeout 90, compose stop_grace_period: 90s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/libchat-server"]
CMD ["serve"]
