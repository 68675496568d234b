# remem server image: REST API (/v1), MCP (/mcp), dashboard (/) and health probes.
#
#   docker build -t remem .
#   docker run --rm -v remem-data:/data remem keys create --tenant acme     # prints rk_... once
#   docker run -d -p 127.0.0.1:8080:8080 -v remem-data:/data remem
#
# The store is /data/memory.db (a volume) unless REMEM_PATH names another, e.g. a
# postgresql:// URL (see compose.yaml). The server listens on 0.0.0.0:8080 with API keys.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /build
COPY pyproject.toml README.md LICENSE ./
COPY scripts/constraints.txt scripts/constraints.txt
COPY remem remem
# Pinned like the test environment: every version comes from scripts/constraints.txt.
RUN PIP_CONSTRAINT=scripts/constraints.txt pip install ".[server,postgres]" \
    && cd / && rm -rf /build

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin remem \
    && mkdir /data && chown remem:remem /data
USER remem
WORKDIR /home/remem

ENV REMEM_PATH=/data/memory.db
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["remem"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
