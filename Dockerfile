# syntax=docker/dockerfile:1
# OncoTx (research use only; not a medical device): one image for a public demo or a hospital server.
# Build: docker build -t oncotx .    Run: docker run -p 8501:8501 -v oncotx-state:/var/lib/oncotx oncotx
# Everything else (public demo mode, a data folder, PostgreSQL, a reverse proxy): docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    OMP_WAIT_POLICY=PASSIVE \
    ONCOTX_HOME=/var/lib/oncotx \
    PORT=8501

# fonts-wqy-microhei: the Chinese PDF report's font (found at run time); libgomp1: xgboost's OpenMP runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-wqy-microhei fontconfig libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# A non-root user; its only writable place is the state volume (database, model bundles, caches, secrets).
RUN useradd --system --create-home --home-dir /home/oncotx --uid 10001 --user-group oncotx \
    && mkdir -p /var/lib/oncotx \
    && chown oncotx:oncotx /var/lib/oncotx

WORKDIR /app
# The pinned requirements first, so that a change of the code alone reuses this layer.
# They include psycopg (PostgreSQL by ONCOTX_DATABASE_URL); SQLite under ONCOTX_HOME is the default.
COPY requirements.txt ./
RUN pip install -r requirements.txt
# The code stays owned by root: the app cannot change itself.
COPY . .

USER oncotx
VOLUME ["/var/lib/oncotx"]
EXPOSE 8501

# Streamlit's own /_stcore/health, asked with Python's urllib (no curl in the image); follows $PORT and
# STREAMLIT_SERVER_BASE_URL_PATH. The first start loads the demo cohort: give it a minute.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 CMD ["python", "-m", "dashboard.serve", "--health"]

# The same start command the browser tests use (bench/serve.py): streamlit run app.py on 0.0.0.0:$PORT, headless,
# XSRF protection on, no usage statistics; Streamlit flags given to `docker run IMAGE ...` replace its defaults.
ENTRYPOINT ["python", "-m", "dashboard.serve"]
