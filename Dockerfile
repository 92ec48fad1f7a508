# Keygate: one stateless process per container; PostgreSQL via DATABASE_URL.
# Stage 1 installs production dependencies only; stage 2 runs as the unprivileged
# `node` user with nothing but the app and its node_modules.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 KEYS_FILE=/keys/jwks.json DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
RUN mkdir -p /keys /data && chown node:node /keys /data
USER node
EXPOSE 3000
# Keys live on a volume (or come from KEYS_JWKS) so every container signs with the same set.
VOLUME ["/keys"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/keygate.js", "serve"]
