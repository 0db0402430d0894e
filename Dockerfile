# exportsync: the CLI in a small image that runs the compiled JavaScript with production
# dependencies only, as a non-root user. Build and run (see docs/deploy.md):
#   docker build -t exportsync .
#   docker run --rm -e SCARF_API_TOKEN -e DATABASE_URL \
#     -v "$PWD/exportsync.yaml:/etc/exportsync/config.yaml:ro" exportsync
# No secret is baked in: tokens and connection URLs come from the environment at run time.
# test/deploy/ reads this file (stages, COPY lines, ENTRYPOINT/CMD): keep its instructions one per line.

# Node 24 is an LTS line (maintained until 2028-04); override with --build-arg NODE_IMAGE=...
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: full install, compile TypeScript to dist/, then drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
RUN npm run build
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime: production node_modules + dist + bin + config examples + JSON Schema ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
ENV EXPORTSYNC_CONFIG=/etc/exportsync/config.yaml
ENV EXPORTSYNC_LOG_FORMAT=json
# glibc's per-thread malloc arenas hold freed memory of DuckDB's and COPY's worker threads; two
# arenas trimmed 100-130 MB of peak RSS in the 1M-row first load (BENCHMARKS.md)
ENV MALLOC_ARENA_MAX=2
# blocks of 128 KiB and up are mmapped and returned when freed instead of growing the heap (the
# response chunks and COPY/spool batches): with MALLOC_ARENA_MAX, DuckDB 1M-row first load 427 → 345 MB
# peak RSS, 391 with MALLOC_ARENA_MAX alone (bench/results/memory.md, session 4)
ENV GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072
RUN groupadd --system --gid 10001 exportsync \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/exportsync --shell /usr/sbin/nologin exportsync \
 && mkdir -p /etc/exportsync /var/lib/exportsync \
 && chown 10001:10001 /var/lib/exportsync
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY config ./config
COPY schema ./schema
# DuckDB files go here (destination.path: /var/lib/exportsync/exportsync.duckdb); mount a volume.
VOLUME ["/var/lib/exportsync"]
USER 10001:10001
# `run` stops after the window in flight commits and exits 130; a second signal aborts it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/exportsync.js"]
CMD ["run"]
