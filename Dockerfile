# syntax=docker/dockerfile:1
# The relance image: one image, three roles (deploy/entrypoint.sh setup | api | worker).
# The API and the worker run compiled (npm run build:dist: esbuild bundles of our TypeScript,
# no tsx loader at run time, ~35 MB less per process); the setup commands still run through
# tsx. The build stage runs the same commands as scripts/install.sh and CI (the locked npm
# install, db:generate, typecheck), then drops the dev dependencies; the runtime stage is a
# slim Node with the app, as `node`.
ARG NODE_IMAGE=node:20.19.5-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false
COPY package.json package-lock.json ./
# As scripts/install.sh: exactly the locked versions (npm ci refuses a lock without other platforms' optional packages).
RUN npm install --no-save --no-audit --no-fund --loglevel=error
COPY . .
RUN npm run db:generate
RUN npm run typecheck
# The workflow bundle, built once here: workers load it instead of running webpack at start.
RUN npm run build:bundle -- /app/.build/workflow-bundle.js
RUN npm run build:dist
RUN npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DATA_DIR=/data \
    WORKFLOW_BUNDLE_PATH=/app/.build/workflow-bundle.js \
    MALLOC_ARENA_MAX=2 \
    npm_config_update_notifier=false
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/activities ./activities
COPY --from=build /app/contracts ./contracts
COPY --from=build /app/api ./api
COPY --from=build /app/codec ./codec
COPY --from=build /app/config ./config
COPY --from=build /app/deploy ./deploy
COPY --from=build /app/domain ./domain
COPY --from=build /app/observability ./observability
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/scripts ./scripts
# Development tooling; the image needs its migrator (setup) and the compose SMS fake.
COPY --from=build /app/tools ./tools
COPY --from=build /app/worker ./worker
COPY --from=build /app/workflows ./workflows
COPY --from=build /app/.build ./.build
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000 9465 9466
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=5 CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["sh", "/app/deploy/entrypoint.sh"]
CMD ["api"]
