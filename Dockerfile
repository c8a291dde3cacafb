# Scale Agent's container image: one image for every role, the CLI as its entry point.
#
#   docker build -t ghcr.io/scale-agent/scale-agent:0.1.0 .
#   docker run --read-only -v scale-agent:/var/lib/scale-agent ghcr.io/scale-agent/scale-agent:0.1.0 hub --config /etc/scale-agent/hub.yaml
#
# Contract (docs/install.md, "Container image"; the Helm chart relies on it):
# - ENTRYPOINT runs the CLI (`node /opt/scale-agent/bin/scale-agent.js`); the arguments choose the role:
#   `hub --config /etc/scale-agent/hub.yaml`, `agent --config /etc/scale-agent/agent.yaml`, `sim …`.
#   Without arguments it prints the help.
# - The application is /opt/scale-agent: the npm package (compiled dist/, no TypeScript sources) with its
#   production dependencies only, owned by root and never written at run time.
# - It runs as uid/gid 10001. The one writable place is /var/lib/scale-agent, the working directory and
#   HOME: the hub's default SQLite database (sqlite:.scale-agent/hub.db) lands there. With a read-only
#   root filesystem, mount a volume there (Kubernetes: an emptyDir or a PersistentVolumeClaim).
# - No HEALTHCHECK: Kubernetes probes the processes' own health endpoints. No init process: Node is
#   PID 1 and the long-running commands handle SIGTERM/SIGINT themselves (stop cleanly, exit 0).
#
# How CI tests this file without a container engine: scripts/dockerfile-steps.mjs runs these build
# steps with each stage's root filesystem mapped to a directory, and test/install/production-layout.test.ts
# runs the resulting /opt/scale-agent (each command's --help, then a sim, hub and agent as uid 10001 on
# a read-only tree). Hence two rules for this file:
# - RUN commands use paths relative to WORKDIR only: the runner executes them on the CI machine with
#   the mapped WORKDIR as the current directory, so an absolute path would reach the machine's own files.
# - Only the instructions the runner knows (FROM … AS, ARG, ENV, WORKDIR, COPY [--from] [--chown], RUN,
#   USER, EXPOSE, VOLUME, ENTRYPOINT, CMD); it refuses anything else, so a new one must be taught to it.

# One Node.js release for all stages: the native SQLite addon built in `install` must match the ABI of
# the runtime stage's Node.
ARG NODE_VERSION=20.20.2

# --- build: the whole development toolchain compiles src/ to dist/ and packs the npm package ---------
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /build
# What `npm ci` needs (the lockfile, and for its `prepare` step the protocol and its generator) before the
# sources, so that editing src/ reuses the cached dependency layer.
COPY package.json package-lock.json buf.yaml buf.gen.yaml ./
COPY scripts/ scripts/
COPY proto/ proto/
RUN npm ci --no-audit --no-fund
COPY . .
# prepack runs `npm run build` (scripts/build.mjs): the package holds bin/, dist/, docs/ and README.md.
RUN npm pack && mv scale-agent-*.tgz scale-agent.tgz

# --- install: the packed package and its production dependencies, at the versions package-lock.json pins
FROM node:${NODE_VERSION}-bookworm AS install
# Created here so that the runtime stage can copy it with its owner (COPY --chown); WORKDIR creates it.
WORKDIR /var/lib/scale-agent
WORKDIR /opt/scale-agent
COPY --from=build /build/scale-agent.tgz /build/package-lock.json ./
# --omit=dev: a runtime dependency declared as a dev dependency is missing here, and the CLI fails to
# start (which the production-layout test catches). --ignore-scripts: the package's own `prepare` needs
# the dev toolchain, and no dependency runs an install script unasked; the one that must, the native
# SQLite addon, is built explicitly (a prebuilt binary when one is published for this platform and
# Node ABI, else compiled with this stage's toolchain: the runtime stage has no compiler).
RUN tar -xzf scale-agent.tgz --strip-components=1 \
 && rm scale-agent.tgz \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3

# --- runtime ---------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
COPY --from=install /opt/scale-agent /opt/scale-agent
COPY --from=install --chown=10001:10001 /var/lib/scale-agent /var/lib/scale-agent
ENV HOME=/var/lib/scale-agent
WORKDIR /var/lib/scale-agent
VOLUME ["/var/lib/scale-agent"]
USER 10001:10001
# Hub REST (Clouddriver API, status page, metrics), hub gRPC (agents dial in), agent admin port.
EXPOSE 7002 9091 8082
ENTRYPOINT ["node", "/opt/scale-agent/bin/scale-agent.js"]
CMD ["--help"]
