#!/usr/bin/env bash
# Build and run gpucast's Dockerfile (unchanged) with podman on a machine without a Docker daemon and without
# Docker Hub: a debootstrapped bookworm stand-in is tagged docker.io/library/python:3.11-slim.
# What it checks: the image builds from a clone of the committed HEAD, the server answers /api/v1/health and a
# token-authenticated plan, the image's HEALTHCHECK passes, and a user created on the volume survives a restart.
# Exits non-zero on any failure. Takes ~2 minutes (debootstrap ~45 s, build ~60 s) on 2 cores.
# Needs root, Debian's apt and network access to deb.debian.org and PyPI; not part of `make test`.
# Env: SRC (repository, default: this checkout), WORK (default /tmp), PORT (default 18000),
# TAG (default localhost/gpucast:test), VOL (default gpucast-data), FORCE_BASE=1 to rebuild the stand-in.
set -euo pipefail
SRC=${SRC:-$(cd "$(dirname "$0")/.." && pwd)}; WORK=${WORK:-/tmp}; PORT=${PORT:-18000}
TAG=${TAG:-localhost/gpucast:test}; VOL=${VOL:-gpucast-data}; NAME=${NAME:-gpucast-check}
ROOTFS=$WORK/gpucast-rootfs

# 1. tools. runc, not crun: crun refuses this machine's hybrid cgroup v1/v2 setup.
command -v podman >/dev/null && command -v runc >/dev/null && command -v debootstrap >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman runc debootstrap >/dev/null

# The sandbox has no CAP_SYS_RESOURCE: podman's default rlimits (nofile 1048576, nproc 4194304) cannot be set,
# so give the containers limits at or below the hard limits (nofile 20000 here; conmon runs with nproc 32768).
NOFILE=$(ulimit -Hn)
cat > "$WORK/gpucast-containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$WORK/gpucast-containers.conf

# 2. stand-in base image
if [ "${FORCE_BASE:-0}" = 1 ] || ! podman image exists docker.io/library/python:3.11-slim; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$ROOTFS" http://deb.debian.org/debian >/dev/null
  rm -f "$ROOTFS/usr/lib/python3.11/EXTERNALLY-MANAGED"     # the official image has no PEP 668 marker
  ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
  ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
  rm -rf "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  tar --numeric-owner -C "$ROOTFS" -c . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - docker.io/library/python:3.11-slim >/dev/null
  rm -rf "$ROOTFS"
fi

# 3. build from a clone (committed HEAD only). --format docker keeps HEALTHCHECK (OCI format drops it).
# The host's CA bundle is mounted for the build only: PyPI is reached through a TLS-inspecting egress proxy.
rm -rf "$WORK/gpucast-build" && git clone -q "$SRC" "$WORK/gpucast-build"
start=$(date +%s)
podman build --format docker -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
  -t "$TAG" "$WORK/gpucast-build" > "$WORK/gpucast-build.log" 2>&1 || { tail -30 "$WORK/gpucast-build.log"; exit 1; }
echo "build: $(( $(date +%s) - start )) s"

# 4. run. (The "unable to get systemd connection" messages are about healthcheck timers; there is no systemd.)
q() { "$@" 2> >(grep -v 'systemd connection' >&2); }
podman rm -f -t0 "$NAME" >/dev/null 2>&1 || true
q podman run --rm --no-healthcheck -v "$VOL:/data" "$TAG" user add alice --role approver || true   # exists on re-runs
TOKEN=$(q podman run --rm --no-healthcheck -v "$VOL:/data" "$TAG" token create --user alice | grep -o '^gpc_[^ ]*' | head -1)
q podman run -d --name "$NAME" -p "$PORT:8000" -v "$VOL:/data" "$TAG" >/dev/null
for _ in $(seq 30); do curl -fs "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 1; done
echo "health: $(curl -s "http://127.0.0.1:$PORT/api/v1/health")"
BODY='{"workload": {"requests_per_second": 10, "avg_input_tokens": 500, "avg_output_tokens": 200}, "model": {"model_name": "llama-3.1-70b", "precision": "FP8"}}'
code=$(curl -s -o "$WORK/gpucast-inference.json" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/inference" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$BODY")
echo "inference: HTTP $code $(head -c 200 "$WORK/gpucast-inference.json")"
[ "$code" = 200 ] || { echo "container check failed: POST /api/v1/inference answered $code" >&2; exit 1; }
q podman healthcheck run "$NAME" >/dev/null || { echo "container check failed: HEALTHCHECK unhealthy" >&2; exit 1; }
echo "healthcheck: healthy"
q podman stop "$NAME" >/dev/null; q podman start "$NAME" >/dev/null
for _ in $(seq 30); do curl -fs "http://127.0.0.1:$PORT/api/v1/health" >/dev/null && break; sleep 1; done
me=$(curl -s "http://127.0.0.1:$PORT/api/v1/me" -H "Authorization: Bearer $TOKEN")
echo "after restart, /me: $me"
case "$me" in *'"alice"'*) ;; *) echo "container check failed: the user did not survive a restart" >&2; exit 1;; esac
q podman exec "$NAME" gpucast user list
q podman rm -f -t5 "$NAME" >/dev/null
echo "container check passed"
