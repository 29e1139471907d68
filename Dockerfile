# One image for the production commands: `usher api`, `usher worker`, `usher migrate` (and `usher tenant|api-key|
# invitation …` for operators), all compiled JavaScript: no TypeScript, no tsx and no workflow bundling at run time.

# Build: compile the CLI with esbuild and bundle the workflows once (npm run build → dist/).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY migrations ./migrations
RUN npm run build

# Run: production dependencies and dist/ only, as the unprivileged `node` user.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
USER node
# The API on PORT; each process's /metrics (and the worker's /healthz) on its metrics port, bound to loopback inside the
# container until METRICS_HOST=0.0.0.0 opens it to the scraper's network (docs/operating.md).
ENV HOST=0.0.0.0 PORT=3000 METRICS_PORT=9464 WORKER_METRICS_PORT=9464
# V8 otherwise sizes its heap by the host's memory (4 GiB here) and collects lazily: the worker's RSS climbed to 1 GiB
# in a sawtooth under a bulk upload, the API's to 631 MiB under overload. With a cap both collect sooner and stay flat
# (docs/benchmark.md). Raise it with WORKER_MAX_CACHED_WORKFLOWS, or override NODE_OPTIONS per container. V8 also grows
# the young generation under load, by its own default: the API's RSS rose from 182 to 274 MiB at 32 callers. With
# 8 MiB semi-spaces it rose from 147 to 193 MiB, for 0.4 ms more CPU per create. The bench runs `usher api` and
# `usher worker` with this line's flags.
ENV NODE_OPTIONS="--max-old-space-size=512 --max-semi-space-size=8"
EXPOSE 3000 9464
# Healthy when this container's API answers /healthz, or its worker runs (/healthz on WORKER_METRICS_PORT).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["node", "--enable-source-maps", "dist/cli.js"]
CMD ["api"]
