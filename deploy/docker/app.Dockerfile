# The app side (Python 3.11): action server (default), web app, agent console, and the operator commands
# (`python -m shopdesk migrate|backup|restore`, `python -m runtime.serve --render-proxy`).
#   docker build -f deploy/docker/app.Dockerfile -t shopdesk-app:0.2.0 .
FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    SHOPDESK_MODE=production SHOPDESK_DATA_DIR=/data
# npm: web.vendor fetches the pinned socket.io browser client (checked against its integrity hash) at build time.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends npm && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app shopdesk
WORKDIR /app
COPY requirements/app.txt requirements/
RUN pip install -q --upgrade pip==24.3.1 && pip install -q -r requirements/app.txt
COPY . .
RUN python -m web.vendor && rm -rf .venv var models && mkdir -p /data && chown shopdesk /data
USER shopdesk
EXPOSE 5055 8080 8090
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=2)"
CMD ["python", "-m", "runtime.action_server", "--actions", "actions", "--host", "0.0.0.0", "--port", "5055"]
