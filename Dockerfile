# syntax=docker/dockerfile:1
# Build stage: dependencies first, in their own layer (rebuilt only when pyproject.toml changes),
# then easel itself (rebuilt on every code change, in seconds).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir --upgrade pip
COPY pyproject.toml ./
# The dependency list straight from pyproject.toml (tomllib is in the standard library).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && python -m pip wheel --no-cache-dir --wheel-dir /wheels/deps -r requirements.txt
COPY README.md LICENSE ./
COPY bot ./bot
COPY commands ./commands
COPY services ./services
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels/app .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    EASEL_DATA_DIR=/data \
    EASEL_HTTP_PORT=8080 \
    EASEL_SLACK_PORT=3000
RUN useradd --create-home --uid 10001 easel \
 && mkdir -p /data && chown easel:easel /data
COPY --from=build /wheels/deps /wheels/deps
RUN python -m pip install --no-cache-dir /wheels/deps/*.whl && rm -rf /wheels/deps
COPY --from=build /wheels/app /wheels/app
RUN python -m pip install --no-cache-dir --no-deps /wheels/app/*.whl && rm -rf /wheels/app
USER easel
WORKDIR /home/easel
VOLUME ["/data"]
EXPOSE 8080 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('EASEL_HTTP_PORT','8080'), timeout=4); sys.exit(0)" || exit 1
ENTRYPOINT ["easel"]
CMD ["run"]
