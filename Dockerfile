# The REST API (gunicorn "api:create_app()"), also the MCP server over HTTP. The Klaviyo sandbox has its own
# image (sandbox.Dockerfile): this one never ships it.
# Secrets are never baked in: keys and tokens come from the environment at run time, and
# accounts.toml is mounted. See docker-compose.yml.
FROM python:3.11-slim

# gunicorn reads its worker count from WEB_CONCURRENCY: set it at run time to change it.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=2 \
    KLAVIYO_MCP_LEDGER_PATH=/data/ledger.sqlite3

# /data is created here, owned by the app user, so a fresh named volume mounted on it is writable.
# A numeric user, so the runtime can tell it is not root without reading /etc/passwd.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown app:app /data

WORKDIR /app
# The runtime only (REST, MCP over HTTP; no dev tools), every wheel checked against its hash, installed
# by the pinned pip rather than the image's own (whose hash mode once let an unlocked version in).
COPY requirements-bootstrap.txt requirements.prod.txt ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-bootstrap.txt \
    && pip install --no-cache-dir --require-hashes -r requirements.prod.txt
COPY api/ api/
COPY klaviyo_analytics/ klaviyo_analytics/
# The MCP server over Streamable HTTP (compose's team-mcp) runs from the same image.
COPY server.py gunicorn.conf.py ./

USER 10001:10001
EXPOSE 8080
# slim has no curl: ask /health with the standard library (urlopen raises on anything but 2xx).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
# gunicorn.conf.py, the one config of every documented command, keeps the worker timeout above
# KLAVIYO_MCP_TOOL_DEADLINE_SECONDS, so a slow tool call ends with its own error instead of a killed worker.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8080", "api:create_app()"]
