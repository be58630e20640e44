# The service image for docker-compose.yml: the web app against a Neo4j 5 server.
# (The embedded ArcadeDB store is for single machines; in a container use Neo4j.)
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY directory ./directory
COPY schema ./schema
RUN pip install --no-cache-dir .          # without the [embedded] extra: no JRE in the image
RUN useradd --system --home /app directory
USER directory
ENV DIRECTORY_HOST=0.0.0.0 DIRECTORY_PORT=8000
EXPOSE 8000
CMD ["directory", "serve"]
