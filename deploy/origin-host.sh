#!/usr/bin/env bash
# Starts an AIServe origin on a GPU host so that it joins the fleet by itself: once its models are loaded and
# warmed it registers in the Redis fleet registry and heartbeats; on SIGTERM it drains and deregisters.
# deploy/README.md ("How a GPU host joins the fleet") explains the whole sequence.
#
# Usage: deploy/origin-host.sh [docker|checkout|exec]
#
#   docker    (default) on a plain VM (Lambda) or a host you manage: pull ORIGIN_IMAGE and run it in the
#             foreground with `docker run --gpus all`. SIGTERM/SIGINT to this script becomes `docker stop` with a
#             grace period of SHUTDOWN_TIMEOUT_MS + 5 s, so the origin drains before it is killed.
#   checkout  from this repository checkout, without Docker: npm ci, the onnxruntime CUDA provider download
#             (EXECUTION_PROVIDER=cuda), npm run models:prepare, then the origin replaces this shell (exec), so
#             SIGTERM reaches the origin itself, which drains.
#   exec      the entrypoint of deploy/origin.Dockerfile: work out ORIGIN_PUBLIC_URL where the provider tells the
#             container (RunPod, Vast.ai), check the variables, then exec the origin as PID 1.
#
# Environment. A launched host gets exactly what hostEnvironment() in workers/control/runner.ts builds:
#   HOST=0.0.0.0  PORT=8000  ORIGIN_AUTH=hmac  EXECUTION_PROVIDER (HOST_EXECUTION_PROVIDER, default cuda)
#   MODEL_REPOSITORY (HOST_MODEL_REPOSITORY, default /models)  ORIGIN_SIGNING_KEYS (HOST_ORIGIN_SIGNING_KEYS)
#   REGISTRY_REDIS_REST_URL / REGISTRY_REDIS_REST_TOKEN (HOST_REGISTRY_REST_*, else the edge's UPSTASH_REDIS_REST_*)
#   plus, per host, ORIGIN_ID=gpu-<instance id> and ORIGIN_INSTANCE_ID=<instance id> (reconcile.ts).
# This script also needs, for docker and checkout modes:
#   ORIGIN_IMAGE        (docker mode) the image built from deploy/origin.Dockerfile
#   ORIGIN_PUBLIC_URL   the URL the edge reaches this origin at; `auto` = http://<default-route IPv4>:<host port>.
#                       hostEnvironment() does not pass it (see deploy/README.md), so set it on a VM.
# Optional: ORIGIN_REGION, ORIGIN_HOST_PORT (published port, default PORT), ORIGIN_CONTAINER_NAME
# (default aiserve-origin), ORIGIN_DOCKER_GPUS (default all), ORIGIN_PULL=never, ORIGIN_SKIP_INSTALL=1
# (checkout mode: skip npm ci and the CUDA download on a restart), and any other origin variable
# (shared/config/origin.ts), which is passed through when set.
#
# Do NOT set ORIGIN_INSTANCE_ID on a host the control plane did not launch: the reconciler matches registry
# records to its gpu_instances rows by that id.

set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "${SCRIPT_DIR}/.." && pwd)"
readonly SCRIPT_DIR REPO_ROOT

# Every variable the origin reads (shared/config/origin.ts); forwarded into the container when set.
readonly ORIGIN_VARS=(
  HOST PORT MODEL_REPOSITORY MODEL_CONTROL_MODE LOAD_MODELS EXECUTION_PROVIDER CUDA_DEVICE_ID
  INTRA_OP_THREADS INTER_OP_THREADS GRAPH_OPTIMIZATION STAGED_BATCHES MAX_BODY_BYTES ORIGIN_AUTH
  ORIGIN_SIGNING_KEYS SIGNATURE_MAX_SKEW_SECONDS SHUTDOWN_TIMEOUT_MS LOG_LEVEL OTEL_EXPORTER_OTLP_ENDPOINT
  ORIGIN_ID ORIGIN_REGION GPU_METRICS REGISTRY_REDIS_REST_URL REGISTRY_REDIS_REST_TOKEN ORIGIN_PUBLIC_URL
  HEARTBEAT_INTERVAL_MS HEARTBEAT_TTL_MS ORIGIN_INSTANCE_ID
)

log() { printf 'origin-host: %s\n' "$*" >&2; }
die() {
  printf 'origin-host: error: %s\n' "$*" >&2
  exit 2
}

describe() {
  case "$1" in
    ORIGIN_IMAGE) echo 'the origin image to run (built from deploy/origin.Dockerfile; CONTROL_ORIGIN_IMAGE on the control plane)' ;;
    ORIGIN_SIGNING_KEYS) echo 'keyId:secret[,keyId:secret] holding the edge'"'"'s ORIGIN_SIGNING_KEY pair (HOST_ORIGIN_SIGNING_KEYS)' ;;
    REGISTRY_REDIS_REST_URL) echo 'Upstash REST URL of the fleet registry (the edge'"'"'s UPSTASH_REDIS_REST_URL)' ;;
    REGISTRY_REDIS_REST_TOKEN) echo 'Upstash REST token for that registry' ;;
    ORIGIN_PUBLIC_URL) echo 'the URL the edge reaches this origin at, e.g. https://gpu-7.example.com (or `auto` on a VM)' ;;
    *) echo 'required' ;;
  esac
}

is_wildcard_host() { [[ "$1" == 0.0.0.0 || "$1" == :: || "$1" == '[::]' ]]; }

# Registry ids allow letters, digits and . _ : - (shared/fleet/origin-record.ts), at most 128 characters.
sanitized_hostname() {
  local h
  h="$(hostname 2>/dev/null || echo origin)"
  h="${h//[^A-Za-z0-9._:-]/-}"
  printf '%s' "${h:0:100}"
}

default_route_ipv4() {
  local ip=''
  if command -v ip >/dev/null 2>&1; then
    ip="$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit }}')"
  fi
  if [[ -z "$ip" ]] && command -v hostname >/dev/null 2>&1; then
    ip="$(hostname -I 2>/dev/null | awk '{print $1}')"
  fi
  printf '%s' "$ip"
}

# Sets ORIGIN_PUBLIC_URL when it is unset and the provider tells us, or when it is `auto` (VM modes only).
resolve_public_url() {
  local allow_auto="$1" port="${PORT:-8000}"
  if [[ "${ORIGIN_PUBLIC_URL:-}" == auto ]]; then
    if [[ "$allow_auto" != yes ]]; then
      die 'ORIGIN_PUBLIC_URL=auto works only on the host (docker or checkout mode): inside a container it would find the container address'
    fi
    local ip
    ip="$(default_route_ipv4)"
    [[ -n "$ip" ]] || die 'ORIGIN_PUBLIC_URL=auto: could not find this host'"'"'s IPv4 address; set ORIGIN_PUBLIC_URL explicitly'
    ORIGIN_PUBLIC_URL="http://${ip}:${ORIGIN_HOST_PORT:-$port}"
    log "ORIGIN_PUBLIC_URL=auto resolved to ${ORIGIN_PUBLIC_URL} (the default route's source address: behind NAT this is wrong; set it explicitly)"
  elif [[ -z "${ORIGIN_PUBLIC_URL:-}" ]]; then
    local vast_port_var="VAST_TCP_PORT_${port}"
    if [[ -n "${RUNPOD_POD_ID:-}" ]]; then
      # RunPod's HTTP proxy for the pod's exposed port: the URL workers/control/providers/runpod.ts reports.
      ORIGIN_PUBLIC_URL="https://${RUNPOD_POD_ID}-${port}.proxy.runpod.net"
      log "ORIGIN_PUBLIC_URL derived from RUNPOD_POD_ID: ${ORIGIN_PUBLIC_URL}"
    elif [[ -n "${PUBLIC_IPADDR:-}" && -n "${!vast_port_var:-}" ]]; then
      # Vast.ai maps the container port (`-p 8000:8000` in the launch env) to a random public port and tells the
      # container both: the URL workers/control/providers/vast-ai.ts reports from the instance's ports.
      ORIGIN_PUBLIC_URL="http://${PUBLIC_IPADDR}:${!vast_port_var}"
      log "ORIGIN_PUBLIC_URL derived from PUBLIC_IPADDR and ${vast_port_var}: ${ORIGIN_PUBLIC_URL}"
    fi
  fi
  if [[ -n "${ORIGIN_PUBLIC_URL:-}" ]]; then
    export ORIGIN_PUBLIC_URL
    local authority="${ORIGIN_PUBLIC_URL#*://}"
    authority="${authority%%/*}"
    if [[ "$authority" =~ ^[0-9.]+(:[0-9]+)?$ || "$authority" == \[* ]]; then
      log "warning: ${ORIGIN_PUBLIC_URL} is an IP address: the Node edge (npm run edge:node) can reach it, but a" \
        'production Cloudflare Worker cannot fetch IP-address URLs and ignores non-standard ports; give the host a' \
        'DNS name on 80/443 (or a tunnel) and set ORIGIN_PUBLIC_URL to it'
    fi
  fi
}

# Checks shared by the modes that join the fleet; extra required names (ORIGIN_IMAGE) come as arguments.
# Every missing variable is named in one message.
check_fleet_env() {
  local missing=() name
  for name in "$@" ORIGIN_SIGNING_KEYS REGISTRY_REDIS_REST_URL REGISTRY_REDIS_REST_TOKEN; do
    if [[ -z "${!name:-}" ]]; then missing+=("$name"); fi
  done
  # With a wildcard bind address the listen URL (http://0.0.0.0:8000) is what the registry would advertise.
  if is_wildcard_host "${HOST}" && [[ -z "${ORIGIN_PUBLIC_URL:-}" ]]; then missing+=(ORIGIN_PUBLIC_URL); fi
  if ((${#missing[@]} > 0)); then
    {
      printf 'origin-host: error: missing required environment variable(s):\n'
      for name in "${missing[@]}"; do printf '  %s: %s\n' "$name" "$(describe "$name")"; done
      if [[ " ${missing[*]} " == *" ORIGIN_PUBLIC_URL "* ]]; then
        printf '  (HOST=%s: without ORIGIN_PUBLIC_URL the registry record would say http://%s:%s, which no edge can reach)\n' \
          "$HOST" "$HOST" "$PORT"
      fi
    } >&2
    exit 2
  fi
  if [[ "${ORIGIN_AUTH:-hmac}" != hmac ]]; then
    die "ORIGIN_AUTH=${ORIGIN_AUTH}: a fleet host must verify the edge's signatures (ORIGIN_AUTH=hmac)"
  fi
  if ! [[ "${SHUTDOWN_TIMEOUT_MS}" =~ ^[0-9]+$ ]]; then
    die "SHUTDOWN_TIMEOUT_MS must be a whole number of milliseconds (got ${SHUTDOWN_TIMEOUT_MS})"
  fi
}

# What the control plane's hostEnvironment() sets, for a host started by hand.
apply_host_defaults() {
  : "${HOST:=0.0.0.0}" "${PORT:=8000}" "${ORIGIN_AUTH:=hmac}" "${EXECUTION_PROVIDER:=cuda}"
  : "${SHUTDOWN_TIMEOUT_MS:=30000}"
  if [[ -z "${ORIGIN_ID:-}" ]]; then
    # Stable across restarts of this host (inside a container the origin's default is <container id>-<pid>).
    ORIGIN_ID="$(sanitized_hostname)"
  fi
}

export_origin_vars() {
  local v
  for v in "${ORIGIN_VARS[@]}"; do
    if [[ -n "${!v:-}" ]]; then export "${v?}"; fi
  done
}

summary() {
  log "origin ${ORIGIN_ID:-(default id)} → ${ORIGIN_PUBLIC_URL:-(listen URL)}; region ${ORIGIN_REGION:-local};" \
    "provider ${EXECUTION_PROVIDER:-cpu}; models ${MODEL_REPOSITORY:-./models};" \
    "instance ${ORIGIN_INSTANCE_ID:-(not launched by the control plane)}"
}

run_docker() {
  command -v docker >/dev/null 2>&1 || die 'docker is not installed (use `checkout` mode, or install Docker and the NVIDIA Container Toolkit)'
  apply_host_defaults
  : "${MODEL_REPOSITORY:=/models}"
  resolve_public_url yes
  check_fleet_env ORIGIN_IMAGE
  export_origin_vars

  local name="${ORIGIN_CONTAINER_NAME:-aiserve-origin}"
  # Docker's own default is 10 s; the origin may take SHUTDOWN_TIMEOUT_MS to drain.
  local grace=$(((SHUTDOWN_TIMEOUT_MS + 999) / 1000 + 5))
  local args=(run --rm --name "$name" --sig-proxy=false --stop-timeout "$grace"
    -p "${ORIGIN_HOST_PORT:-$PORT}:${PORT}")
  if [[ "${EXECUTION_PROVIDER}" == cuda ]]; then args+=(--gpus "${ORIGIN_DOCKER_GPUS:-all}"); fi
  local v
  # `-e NAME` without a value: Docker copies it from this environment, so secrets stay off the command line.
  for v in "${ORIGIN_VARS[@]}"; do
    if [[ -n "${!v:-}" ]]; then args+=(-e "$v"); fi
  done

  if [[ "${ORIGIN_PULL:-always}" != never ]]; then
    log "pulling ${ORIGIN_IMAGE} (a private registry needs \`docker login\` first)"
    docker pull "$ORIGIN_IMAGE" >&2
  fi
  # A container left by a previous boot of this host would hold the name and the port.
  docker rm -f "$name" >/dev/null 2>&1 || true
  summary

  # --sig-proxy=false: only the trap below signals the container. The origin handles the first SIGTERM and
  # drains; a second SIGTERM would hit Node's default handler and kill it mid-drain.
  docker "${args[@]}" "$ORIGIN_IMAGE" &
  local child=$!
  stop_container() {
    log "stopping ${name}: SIGTERM, the origin drains and deregisters (up to ${grace} s)"
    docker stop --time "$grace" "$name" >/dev/null 2>&1 || true
  }
  trap stop_container TERM INT
  local rc=0
  while :; do
    set +e
    wait "$child"
    rc=$?
    set -e
    # A trapped signal interrupts `wait` while the container is still draining: keep waiting for it.
    if kill -0 "$child" 2>/dev/null; then continue; fi
    break
  done
  trap - TERM INT
  log "origin container exited with status ${rc}"
  exit "$rc"
}

run_checkout() {
  cd "$REPO_ROOT"
  command -v node >/dev/null 2>&1 || die 'node is not installed (Node.js >= 20.19, see package.json engines)'
  command -v npm >/dev/null 2>&1 || die 'npm is not installed'
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')" || die 'node did not run'
  [[ "$major" =~ ^[0-9]+$ ]] || die "could not read the Node.js version (got \"${major}\")"
  ((major >= 20)) || die "Node.js $(node --version) is too old: package.json needs >= 20.19"
  apply_host_defaults
  : "${MODEL_REPOSITORY:=${REPO_ROOT}/models}"
  resolve_public_url yes
  check_fleet_env
  export_origin_vars

  if [[ "${ORIGIN_SKIP_INSTALL:-0}" != 1 ]]; then
    log 'npm ci (.npmrc skips the onnxruntime CUDA download here)'
    npm ci --no-audit --no-fund >&2
    if [[ "${EXECUTION_PROVIDER}" == cuda ]]; then
      # The variable install-utils.js reads before the .npmrc setting; see deploy/origin.Dockerfile.
      log 'downloading the onnxruntime-node CUDA 12 execution provider (NuGet Microsoft.ML.OnnxRuntime.Gpu.Linux)'
      ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js >&2
    fi
  fi
  local cuda_lib="node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so"
  if [[ "${EXECUTION_PROVIDER}" == cuda && ! -f "$cuda_lib" ]]; then
    log "warning: ${cuda_lib} is missing: the origin will log one warning and run on CPU"
  fi
  log "preparing models into ${MODEL_REPOSITORY}"
  npm run --silent models:prepare >&2
  summary
  # exec: the origin becomes this process, so the SIGTERM sent to it (systemd, the provider) starts its drain.
  exec node --import tsx origin/main.ts
}

run_exec() {
  cd "$REPO_ROOT"
  : "${HOST:=0.0.0.0}" "${PORT:=8000}"
  export HOST PORT
  resolve_public_url no
  if [[ -n "${REGISTRY_REDIS_REST_URL:-}" || -n "${REGISTRY_REDIS_REST_TOKEN:-}" ]]; then
    : "${SHUTDOWN_TIMEOUT_MS:=30000}"
    check_fleet_env
  else
    log 'no REGISTRY_REDIS_REST_URL/TOKEN: a standalone origin that does not join the fleet'
  fi
  summary
  exec node --import tsx origin/main.ts
}

main() {
  if (($# > 1)); then die "unexpected arguments: $* (usage: $0 [docker|checkout|exec])"; fi
  case "${1:-docker}" in
    docker) run_docker ;;
    checkout) run_checkout ;;
    exec) run_exec ;;
    -h | --help)
      sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
      ;;
    *) die "unknown mode \"$1\" (usage: $0 [docker|checkout|exec])" ;;
  esac
}

main "$@"
