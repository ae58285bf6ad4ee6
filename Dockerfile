# llmbatch: one image for the worker, the API and the provider simulator.
# There is no build step: the services run TypeScript through tsx, which is a
# runtime dependency in package.json, so a production install includes it.
FROM node:20-slim

WORKDIR /app

# Dependencies first, so editing the source does not reinstall them.
# --omit=dev is enough: tsx, the Temporal SDK (with its bundled native bridge
# and @swc/core for the workflow bundle) and zod are all in "dependencies".
COPY package.json package-lock.json ./
# npm install rather than npm ci: the lockfile is made where the registry serves only linux-x64
# native builds, so it lacks other platforms' optional entries and npm ci would refuse it.
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src
COPY examples ./examples

# The embedded batch store is plain files under LLMBATCH_DATA_DIR. Create the
# mount point owned by the runtime user: a fresh named volume mounted here
# copies this ownership, so the non-root processes can write to it.
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    LLMBATCH_DATA_DIR=/data

# The node image ships an unprivileged "node" user (uid 1000).
USER node

# Default role: a worker. docker-compose.yml overrides the command for the API
# (src/api/apiMain.ts) and the simulator (src/provider/providerMain.ts).
CMD ["node", "--import", "tsx", "src/worker/workerMain.ts"]
