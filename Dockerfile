# assistants-compat serve: the Assistants API over HTTP, for apps in any language.
#   docker build -t assistants-compat .
#   docker run -p 8000:8000 -e OPENAI_API_KEY -e COMPAT_DATABASE_URL=postgresql://... assistants-compat
# Keys for clients: docker run --rm -e COMPAT_DATABASE_URL=... assistants-compat keys create TENANT
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY compat ./compat
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.12-slim
# no bytecode written at run time, logs unbuffered (one JSON line per event)
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 compat
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER compat
WORKDIR /home/compat
EXPOSE 8000
# /healthz answers 200 once the server is ready (the schema is migrated at startup)
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
# SIGTERM: stop accepting, let runs finish (--shutdown-wait), hand the rest over
STOPSIGNAL SIGTERM
ENTRYPOINT ["assistants-compat"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
