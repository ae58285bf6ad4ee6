# llmbatch: one image for the worker, the API and the provider simulator, running compiled JavaScript.
# Stage "build" installs every dependency and runs `npm run build`: tsc to dist/ and the workflow bundle
# prebuilt into dist/workflow-bundle.js, so a worker does not bundle its workflows with webpack at start-up.
# The runtime stage holds production dependencies, package.json and dist/: no TypeScript source.
FROM node:20-slim AS build

WORKDIR /app

# npm ci installs exactly package-lock.json (it lists every platform's optional native builds) or fails.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# The web console's browser modules (GET /console) are served as they are: beside the compiled API, which looks for
# them in dist/console (src/api/console.ts).
RUN cp -r src/console dist/console

FROM node:20-slim

WORKDIR /app

# Dependencies first, so editing the source does not reinstall them. package.json stays beside dist/:
# the OpenAPI document reads its version from it.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY --from=build /app/dist ./dist

# The embedded batch store is plain files under LLMBATCH_DATA_DIR. Create the
# mount point owned by the runtime user: a fresh named volume mounted here
# copies this ownership, so the non-root processes can write to it.
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production \
    LLMBATCH_DATA_DIR=/data

# The node image ships an unprivileged "node" user (uid 1000).
USER node

# Default role: a worker. docker-compose.yml overrides the command for the API
# (dist/api/apiMain.js) and the simulator (dist/provider/providerMain.js).
CMD ["node", "dist/worker/workerMain.js"]
