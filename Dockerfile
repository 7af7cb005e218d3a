# Intake API and workers share one image; the command picks the process (api, worker, migrate).
# The Node here is the one in .node-version (test/e2e/container-image.test.ts keeps them in step).
FROM node:26.12.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# The production install: dev-only packages (embedded Postgres, test tools, types) stay out.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:26.12.1-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN node scripts/prisma-generate.mjs
# The web console's static assets, built from console/ into dist/console (the API serves them at /).
RUN node_modules/.bin/tsx console/build.ts
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "api/server.ts"]
