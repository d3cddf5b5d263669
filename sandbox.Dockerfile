# The Klaviyo sandbox for `docker compose --profile sandbox` (a demo that needs no Klaviyo account).
# An image of its own, so the runtime image (Dockerfile) never ships the emulator or its spec extract.
# Its build context rules: sandbox.Dockerfile.dockerignore (BuildKit reads it instead of .dockerignore).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# /data holds the accounts.toml the sandbox writes for the demo API (a named volume shared with it).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app \
    && mkdir /data \
    && chown app:app /data

WORKDIR /app
COPY requirements-bootstrap.txt requirements.prod.txt ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements-bootstrap.txt \
    && pip install --no-cache-dir --require-hashes -r requirements.prod.txt
# The sandbox reads one table of the product (Klaviyo's revisions) from klaviyo_analytics.
COPY klaviyo_analytics/ klaviyo_analytics/
COPY klaviyo_sandbox/ klaviyo_sandbox/

USER 10001:10001
EXPOSE 8765
CMD ["python", "-m", "klaviyo_sandbox", "--host", "0.0.0.0", "--allow-remote", "--port", "8765"]
