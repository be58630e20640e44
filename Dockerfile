# The service image for docker-compose.yml: the web app against a Neo4j 5 server.
# (The embedded ArcadeDB store is for single machines; in a container use Neo4j.)

# The browser files the service serves itself (Leaflet for the maps, GraphiQL), from npm at build time:
# nothing is fetched from elsewhere when the service runs.
FROM node:22-slim AS assets
WORKDIR /app
COPY maps/assets/package.json maps/assets/package-lock.json maps/assets/
COPY directory/web/graphiql/package.json directory/web/graphiql/package-lock.json directory/web/graphiql/
RUN cd maps/assets && npm ci --no-audit --no-fund --loglevel=error \
 && cd /app/directory/web/graphiql && npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY directory ./directory
COPY schema ./schema
COPY maps ./maps
COPY federation ./federation
COPY --from=assets /app/maps/assets/node_modules ./maps/assets/node_modules
COPY --from=assets /app/directory/web/graphiql/node_modules ./directory/web/graphiql/node_modules
# Installed in place (editable), so the served npm files stay beside the modules that serve them;
# without the [embedded] extra: no JRE in the image.
RUN pip install --no-cache-dir -e .
# The data folder: in a container on Neo4j it holds no records, but the session key, the online keys
# that sign the feeds and the audit log, which must outlive the container (docker-compose.yml
# mounts a volume here) and be writable by the service's user (the image's /app is root's).
RUN useradd --system --home /app directory && mkdir -p /data && chown directory /data && chmod 700 /data
USER directory
ENV DIRECTORY_HOST=0.0.0.0 DIRECTORY_PORT=8000 DIRECTORY_DATA=/data
VOLUME /data
EXPOSE 8000
CMD ["directory", "serve"]
