# gridtwin's image: one image for every role (web, worker, beat, mqtt, migrate); the command
# picks the role (docker-compose.yml). Production settings unless told otherwise.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production
WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml changes. (The project
# installs no packages of its own: `pip install .` installs its pinned dependencies.)
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .

RUN groupadd --system gridtwin && useradd --system --gid gridtwin --no-create-home gridtwin
COPY . .
# Static files (admin, GraphiQL), collected and compressed for the web process to serve. The
# production settings want a SECRET_KEY to load; this one exists for this step only.
RUN SECRET_KEY=collectstatic-at-build-time-is-not-a-secret python manage.py collectstatic --noinput -v 0
USER gridtwin

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
# The web role, as in docker-compose.yml; WEB_CONCURRENCY (uvicorn's own variable) sets workers.
CMD ["sh", "-c", "exec uvicorn config.asgi:application --host 0.0.0.0 --port 8000 --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-}\" --no-access-log --ws websockets-sansio --ws-per-message-deflate false"]
