# Intake API and workers share one image; the command picks the process (api, worker, migrate).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts=false && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN node scripts/prisma-generate.mjs
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "api/server.ts"]
