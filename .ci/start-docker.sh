#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine: install Debian's docker.io if dockerd is
# missing, start dockerd in the background if `docker info` fails, wait until it answers.
# Idempotent: does nothing when an engine already runs. Needs root (CI and dev machines run as root).
#
#   DOCKERD_LOG       where dockerd writes its log (default /var/log/sandboxer-dockerd.log)
#   DOCKER_WAIT_SECS  how long to wait for the engine (default 60)
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/sandboxer-dockerd.log}
DOCKER_WAIT_SECS=${DOCKER_WAIT_SECS:-60}

log() { printf '[start-docker] %s\n' "$*" >&2; }
die() { printf '[start-docker] ERROR: %s\n' "$*" >&2; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "dockerd is missing; run as root or: sudo apt-get install -y docker.io"
    log "dockerd not found: installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
    command -v dockerd >/dev/null 2>&1 || die "dockerd still missing after installing docker.io"
fi

if engine_up; then
    log "engine already running"
    exit 0
fi

# A dockerd we (or a previous run) started may still be coming up: don't start a second one,
# which would fight over /var/run/docker.pid and the socket.
if pgrep -x dockerd >/dev/null 2>&1; then
    log "dockerd is running but not answering yet; waiting"
else
    [ "$(id -u)" -eq 0 ] || die "no Docker engine running and not root: cannot start dockerd"
    log "starting dockerd (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    printf -- '--- %s: started by %s\n' "$(date -u +%FT%TZ)" "$0" >>"$DOCKERD_LOG"
    # setsid: dockerd gets its own session, so it outlives this script and the CI job's
    # process group (the later test phase and the lead's session need it running).
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for ((i = 0; i < DOCKER_WAIT_SECS; i++)); do
    if engine_up; then
        log "engine ready after ${i}s: $(docker version --format 'server {{.Server.Version}}' 2>/dev/null)"
        exit 0
    fi
    if ! pgrep -x dockerd >/dev/null 2>&1; then
        tail -n 20 "$DOCKERD_LOG" >&2 || true
        die "dockerd exited during startup (last lines of $DOCKERD_LOG above)"
    fi
    sleep 1
done

tail -n 20 "$DOCKERD_LOG" >&2 || true
die "Docker engine did not answer 'docker info' within ${DOCKER_WAIT_SECS}s (see $DOCKERD_LOG)"
