# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY services ./services
RUN python -m pip install --no-cache-dir --upgrade pip \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    EASEL_DATA_DIR=/data \
    EASEL_HTTP_PORT=8080 \
    EASEL_SLACK_PORT=3000
RUN useradd --create-home --uid 10001 easel \
 && mkdir -p /data && chown easel:easel /data
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER easel
WORKDIR /home/easel
VOLUME ["/data"]
EXPOSE 8080 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('EASEL_HTTP_PORT','8080'), timeout=4); sys.exit(0)" || exit 1
ENTRYPOINT ["easel"]
CMD ["run"]
