# Serve tfquiz on port 8000 with its SQLite database and secret key in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TFQUIZ_DATA_DIR=/data TFQUIZ_HOST=0.0.0.0 TFQUIZ_PORT=8000

WORKDIR /srv/tfquiz
COPY pyproject.toml README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY questions ./questions
RUN pip install --no-cache-dir -e . \
    && useradd --system --create-home --home-dir /home/tfquiz tfquiz \
    && mkdir -p /data && chown tfquiz /data

USER tfquiz
VOLUME ["/data"]
EXPOSE 8000
CMD ["tfquiz", "serve"]
