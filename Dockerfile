# gpucast serve in a container: the REST API and web pages, the database on a volume.
#   docker build -t gpucast .
#   docker run -p 8000:8000 -v gpucast-data:/data gpucast
# Bound to 0.0.0.0 inside the container, so reads need a token unless --no-read-token-required is passed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GPUCAST_DATABASE_URL=sqlite:////data/gpucast.db

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip install ".[server,forecast]" \
    && useradd --create-home --uid 10001 gpucast \
    && mkdir -p /data && chown gpucast /data

USER gpucast
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4)"
ENTRYPOINT ["gpucast"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
