# Keygate: one stateless process per container; PostgreSQL via DATABASE_URL.
# Stage 1 compiles the TypeScript (all dependencies); stage 2 installs production
# dependencies only; stage 3 runs the compiled JavaScript as the unprivileged `node`
# user, with no TypeScript and no tsx in the image.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY packages/verifier/package.json packages/verifier/tsconfig.json ./packages/verifier/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
COPY migrations ./migrations
COPY packages/verifier/src ./packages/verifier/src
RUN npm run build

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/verifier/package.json ./packages/verifier/
# --ignore-scripts: `prepare` (the build) needs the dev dependencies; stage 1 built dist/.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=3000 KEYS_FILE=/keys/jwks.json DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages/verifier/package.json ./packages/verifier/
COPY --from=build /app/packages/verifier/dist ./packages/verifier/dist
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /keys /data && chown node:node /keys /data
USER node
EXPOSE 3000
# Keys live on a volume (or come from KEYS_JWKS) so every container signs with the same set.
VOLUME ["/keys"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "bin/keygate.js", "serve"]
