# syntax=docker/dockerfile:1
# tfquiz on port 8000, with its SQLite file and generated secret key in the /data volume.
#
#   docker build -t tfquiz .
#   docker run -d -p 8000:8000 -v tfquiz-data:/data --stop-timeout 45 tfquiz
#
# For NVIDIA GPUs, build on TensorFlow's CUDA image (its Python must be 3.11) and run
# with the GPUs passed in:
#
#   docker build --build-arg BASE_IMAGE=tensorflow/tensorflow:2.21.0-gpu -t tfquiz:gpu .
#   docker run -d --gpus all -p 8000:8000 -v tfquiz-data:/data tfquiz:gpu
#
# docs/deploy.md explains the settings, the demo sandbox in a container, and compose.yaml.
ARG BASE_IMAGE=python:3.11-slim

# ---- builder: a wheel of the project, installed with its dependencies into /opt/tfquiz
FROM ${BASE_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# PyICU (Unicode confusable skeletons for learner names) builds against the system's ICU.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libicu-dev pkg-config g++ \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app ./app
COPY templates ./templates
COPY static ./static
COPY questions ./questions
# --system-site-packages: on the GPU image the venv uses the TensorFlow (and CUDA
# libraries) the image already has; on the slim image that folder holds only pip.
RUN python3 -m pip wheel --no-deps --wheel-dir /wheels . \
    && python3 -m venv --system-site-packages /opt/tfquiz \
    && /opt/tfquiz/bin/pip install "$(ls /wheels/tfquiz-*.whl)[postgres]"

# ---- runtime: no compiler, no build tools; the venv, bubblewrap and libseccomp2 (the
# worker's seccomp filter) for the demo sandbox, and tini to pass signals on and reap
# orphans as process 1
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/tfquiz/bin:$PATH \
    TFQUIZ_DATA_DIR=/data TFQUIZ_HOST=0.0.0.0 TFQUIZ_PORT=8000
# Debian's package versions are not pinned: a pin breaks the build once the archive moves on.
# ICU's runtime library is named for its version (libicu72, libicu76): found, not named.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && icu="$(apt-cache search --names-only '^libicu[0-9]+$' | cut -d' ' -f1 | sort -V | tail -n 1)" \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 tini "$icu" \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/tfquiz tfquiz \
    && mkdir /data \
    && chown tfquiz:tfquiz /data
COPY --from=builder /opt/tfquiz /opt/tfquiz

USER 10001:10001
WORKDIR /home/tfquiz
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('TFQUIZ_PORT', '8000'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["tfquiz", "serve"]
