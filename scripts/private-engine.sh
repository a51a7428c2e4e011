#!/usr/bin/env bash
# A second Docker engine for the end-to-end tier, with the containerd image store (so its
# docker driver builds several platforms in one build) and one that a test may stop.
#
# It lives in its own network namespace: a second dockerd in the host's namespace rewrites
# the host's bridge and iptables and breaks the main engine. Inside the namespace a twin of
# the test registry listens on the same 127.0.0.1 port and serves the same storage
# directory, so what this engine pushes is what the host's clients see.
#
#   private-engine.sh start | stop | status
# Needs the dockerd binary that provision-test-env.sh unpacks into the cache.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MANAGER_TEST_CACHE:-$ROOT/.cache/e2e}"
# shellcheck source=scripts/e2e-ids.sh
. "$ROOT/scripts/e2e-ids.sh"
NS="manager-e2e-$CHECKOUT_ID"
RUN="/run/manager-e2e-$CHECKOUT_ID"
DATA="/var/lib/manager-e2e-engine-$CHECKOUT_ID"
DOCKERD="$CACHE/engine/dockerd"
SOCK="unix://$RUN/docker.sock"

log() { printf '[private-engine] %s\n' "$*" >&2; }
in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
engine_up() { DOCKER_HOST="$SOCK" docker info >/dev/null 2>&1; }

start() {
  [ -x "$DOCKERD" ] || { log "$DOCKERD is missing: run scripts/provision-test-env.sh"; exit 1; }
  mkdir -p "$RUN" "$DATA" "$CACHE/engine"
  if [ ! -e "/run/netns/$NS" ]; then
    ip netns add "$NS"
    in_ns ip link set lo up
  fi
  # Restarted every time, so it always serves this checkout's current storage and config.
  if alive "$RUN/registry.pid"; then kill "$(cat "$RUN/registry.pid")"; sleep 0.3; fi
  # `ip netns exec` would remount /sys and hide the cgroup hierarchy dockerd needs; nsenter
  # enters the network namespace alone. The registry writes its own pid ($! would be the
  # nsenter or setsid in front of it, gone at once, and `stop` would miss the registry).
  rm -f "$RUN/registry.pid"
  in_ns setsid bash -c 'echo $$ >"$0"; exec docker-registry serve "$1"' "$RUN/registry.pid" "$CACHE/registry/config.yml" >"$CACHE/engine/registry.log" 2>&1 </dev/null &
  for _ in $(seq 1 20); do [ -s "$RUN/registry.pid" ] && break; sleep 0.1; done
  if ! engine_up; then
    printf '{"features": {"containerd-snapshotter": true}}\n' >"$CACHE/engine/daemon.json"
    in_ns setsid "$DOCKERD" --config-file "$CACHE/engine/daemon.json" --data-root "$DATA" --exec-root "$RUN/exec" \
      --pidfile "$RUN/docker.pid" -H "$SOCK" >>"$CACHE/engine/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
    engine_up || { tail -20 "$CACHE/engine/dockerd.log" >&2; exit 1; }
  fi
  local twin="http://127.0.0.1:$REGISTRY_PORT/v2/"
  for _ in $(seq 1 30); do in_ns curl -s -o /dev/null "$twin" && break; sleep 0.3; done
  in_ns curl -s -o /dev/null "$twin" || { log "the registry twin did not start"; tail -20 "$CACHE/engine/registry.log" >&2; exit 1; }
  echo "$SOCK"
}

stop() {
  if alive "$RUN/registry.pid"; then kill "$(cat "$RUN/registry.pid")"; fi
  if alive "$RUN/docker.pid"; then
    local pid
    pid="$(cat "$RUN/docker.pid")"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) engine_up && echo "$SOCK" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
