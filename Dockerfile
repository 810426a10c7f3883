# clicks for fly.io: the Bun that package.json pins, the production dependencies that
# package-lock.json pins, run by an unprivileged user.

# npm installs from package-lock.json (the project's lockfile) in a stage of its own, so the
# runtime image carries no npm. The dependencies are plain JavaScript and WebAssembly.
FROM node:22.12.0-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1.4.5-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
# The release command (`bun run db:migrate`) applies these.
COPY drizzle ./drizzle
# The volume for the spool mounts here; the image's own copy belongs to the service's user.
RUN mkdir -p /data && chown bun:bun /data
USER bun
EXPOSE 2343 8443
# The service itself as the process fly.io signals (not `bun run`, which would stand in between).
CMD ["bun", "src/main.ts"]
