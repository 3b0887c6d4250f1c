# lessonlens: one image for the API (`lessonlens serve`) and the workers (`lessonlens worker`).
#
# CPU (default):
#   docker build -t lessonlens .
# CUDA workers (faster-whisper on the GPU; CTranslate2 needs CUDA 12 + cuDNN 9 from the base):
#   docker build -t lessonlens:cuda \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04 --build-arg DEVICE=cuda .
#
# Installs exactly what ./scripts/setup installs: torch first (CPU build unless told otherwise),
# then the complete freeze requirements.lock with --no-deps, then this package, then the models.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG DEVICE=cpu
ARG TORCH_SPEC=torch==2.13.0+cpu
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
# llama.cpp for the SmolLM2 shortener. An image runs on CPUs other than the build host's, so it is
# built for x86-64-v3 (AVX2, FMA, F16C, BMI2: Intel since 2013, AMD since 2015) rather than
# -march=native as ./scripts/setup does; pass e.g. "-DGGML_NATIVE=ON ..." to tune it to one host.
ARG LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_OPENMP=OFF"

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    LESSONLENS_MODEL_DIR=/opt/lessonlens/models \
    LESSONLENS_DATA_DIR=/data \
    LESSONLENS_DEVICE=${DEVICE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ffmpeg for probing and frames; fonts for the samples; g++ to build llama-cpp-python (source
# only on PyPI); python3.11 only where the base lacks it (the CUDA base is Ubuntu 22.04, whose
# universe has python3.11).
# hadolint ignore=DL3008
RUN extra=() \
 && { command -v python3.11 >/dev/null || extra=(python3.11 python3.11-venv); } \
 && apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg fonts-dejavu-core ca-certificates g++ "${extra[@]}" \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv "$VIRTUAL_ENV" \
 && pip install pip==26.3 wheel==0.48.0 setuptools==84.2.1

WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
# torch from its own index (the lock pins the CPU build; TORCH_SPEC/TORCH_INDEX pick another),
# then everything else in the lock, exactly, with --no-deps as ./scripts/setup does, except
# translate-toolkit (GPL-3.0; a test-only consumer of our XLIFF files) and its tokenizer, which
# the service never imports and the image must not ship.
# (TORCH_SPEC is a pin, torch==<version>, which hadolint cannot see through the variable.)
# hadolint ignore=DL3013
RUN pip install --extra-index-url "$TORCH_INDEX" "$TORCH_SPEC" \
 && grep -v -E '^(torch|translate-toolkit|unicode-segmentation-rs)==' requirements.lock > /tmp/requirements.lock \
 && CMAKE_ARGS="$LLAMA_CMAKE_ARGS" pip install --no-deps -r /tmp/requirements.lock \
 && rm /tmp/requirements.lock

COPY app ./app
COPY pipelines ./pipelines
COPY alembic.ini ./
# hadolint ignore=DL3013
RUN pip install --no-deps --no-build-isolation . \
 && lessonlens models install --all \
 && useradd --system --uid 1000 --home-dir /data lessonlens \
 && mkdir -p /data \
 && chown lessonlens /data

USER 1000
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["lessonlens", "serve", "--host", "0.0.0.0", "--port", "8000"]
