#!/usr/bin/env bash
# Prepares this Debian machine for the end-to-end tier: a Docker engine with
# buildx, QEMU for foreign platforms, a local registry with htpasswd auth, and a
# multi-arch Debian base image in that registry. Idempotent: every step checks
# first, so a second run costs seconds. Must run as root.
#
#   provision-test-env.sh          set up (or check) everything
#   provision-test-env.sh stop     stop what this checkout started (by pid file), nothing else
#
# Per checkout: the registry's port, storage and password, the private engine's network
# namespace, run and data directories all derive from this checkout's path, so two checkouts
# on one machine do not touch each other's. Passwords go through stdin and mode-600 files only.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${MANAGER_TEST_CACHE:-$ROOT/.cache/e2e}"
# shellcheck source=scripts/e2e-ids.sh
. "$ROOT/scripts/e2e-ids.sh"
REGISTRY="127.0.0.1:${REGISTRY_PORT}"
REGISTRY_USER="${E2E_REGISTRY_USER:-e2e}"
SUITE="${E2E_SUITE:-bookworm}"
ARCHES="${E2E_ARCHES:-amd64 arm64}"
mkdir -p "$CACHE"

log() { printf '[provision] %s\n' "$*" >&2; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  bash "$ROOT/scripts/private-engine.sh" stop
  if alive "$CACHE/registry/registry.pid"; then kill "$(cat "$CACHE/registry/registry.pid")"; log "stopped the registry on $REGISTRY"; fi
  if alive "$CACHE/dockerd.pid"; then kill "$(cat "$CACHE/dockerd.pid")"; log "stopped the dockerd this script started"; fi
  rm -f "$CACHE/registry/registry.pid" "$CACHE/dockerd.pid"
  exit 0
fi

need_pkgs=()
# chromium: the build report is checked in a real headless browser; jq: the metadata file is
# read with the jq paths bake users write.
for p in docker.io docker-registry qemu-user-static binfmt-support apache2-utils debootstrap curl chromium jq; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
# The Debian package enables a registry service on :5000 under systemd; we run our own.

# Two binaries come from trixie's packages, downloaded and unpacked, never installed:
# buildx (not packaged for bookworm; a static binary) and a dockerd with the containerd
# image store, run only as the tests' private engine (scripts/private-engine.sh).
# Nothing else is installed from trixie.
ENGINE_DOCKERD="$CACHE/engine/dockerd"
trixie=()
docker buildx version >/dev/null 2>&1 || trixie+=(docker-buildx)
[ -x "$ENGINE_DOCKERD" ] || trixie+=(docker.io)
if ((${#trixie[@]})); then
  log "unpacking ${trixie[*]} from trixie (binaries only)"
  tmp="$(mktemp -d)"
  list=/etc/apt/sources.list.d/manager-trixie-tmp.list
  echo 'deb http://deb.debian.org/debian trixie main' >"$list"
  trap 'rm -f "$list"' EXIT
  apt-get update -qq -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
  for p in "${trixie[@]}"; do (cd "$tmp" && apt-get download -qq "$p/trixie" 2>/dev/null); done
  rm -f "$list"
  trap - EXIT
  apt-get update -qq
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done
  if [ -e "$tmp/x/usr/libexec/docker/cli-plugins/docker-buildx" ]; then
    install -D -m 755 "$tmp/x/usr/libexec/docker/cli-plugins/docker-buildx" /usr/libexec/docker/cli-plugins/docker-buildx
  fi
  if [ -e "$tmp/x/usr/sbin/dockerd" ]; then
    install -D -m 755 "$tmp/x/usr/sbin/dockerd" "$ENGINE_DOCKERD"
  fi
  rm -rf "$tmp"
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  nohup dockerd >/var/log/manager-dockerd.log 2>&1 &
  echo $! >"$CACHE/dockerd.pid"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/manager-dockerd.log >&2; exit 1; }
fi

if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for q in qemu-aarch64 qemu-arm qemu-ppc64le qemu-s390x; do
  [ -e "/proc/sys/fs/binfmt_misc/$q" ] || update-binfmts --enable "$q" 2>/dev/null || log "could not enable $q"
done

# Registry: htpasswd auth on loopback only. The password is generated once and
# kept in the cache with mode 600; tests read it from there.
REG_DIR="$CACHE/registry"
mkdir -p "$REG_DIR/data"
(umask 077; [ -s "$REG_DIR/password" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$REG_DIR/password")
chmod 600 "$REG_DIR/password"
# -i: the password comes on stdin, never in argv; the same for curl, from a mode-600 netrc.
htpasswd -iBc "$REG_DIR/htpasswd" "$REGISTRY_USER" <"$REG_DIR/password" 2>/dev/null
(umask 077; printf 'machine 127.0.0.1 login %s password %s\n' "$REGISTRY_USER" "$(cat "$REG_DIR/password")" >"$REG_DIR/netrc")
cat >"$REG_DIR/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
auth:
  htpasswd:
    realm: manager-e2e
    path: $REG_DIR/htpasswd
YAML
ours_answers() { curl -fs -o /dev/null --netrc-file "$REG_DIR/netrc" "http://$REGISTRY/v2/"; }
if ! alive "$REG_DIR/registry.pid" || ! ours_answers; then
  if alive "$REG_DIR/registry.pid"; then kill "$(cat "$REG_DIR/registry.pid")"; sleep 0.5; fi
  if curl -s -o /dev/null "http://$REGISTRY/v2/"; then
    # Something this checkout did not start holds the port: never kill it, say so.
    log "port $REGISTRY_PORT is taken by a process this checkout did not start; set E2E_REGISTRY_PORT to a free port"
    exit 1
  fi
  log "starting registry on $REGISTRY"
  setsid docker-registry serve "$REG_DIR/config.yml" >"$REG_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$REG_DIR/registry.pid"
  for _ in $(seq 1 30); do ours_answers && break; sleep 0.5; done
  ours_answers || { tail -20 "$REG_DIR/registry.log" >&2; exit 1; }
fi
docker login "$REGISTRY" -u "$REGISTRY_USER" --password-stdin <"$REG_DIR/password" >/dev/null

# Base image: debootstrap rootfs per arch, cached as tarballs.
BASE_REF="$REGISTRY/e2e/debian:$SUITE"
refs=()
for arch in $ARCHES; do
  tarball="$CACHE/rootfs/$SUITE-$arch.tar"
  if [ ! -s "$tarball" ]; then
    log "debootstrap $SUITE for $arch"
    dir="$(mktemp -d "$CACHE/rootfs-XXXX")"
    mkdir -p "$CACHE/rootfs"
    debootstrap --variant=minbase --arch="$arch" "$SUITE" "$dir" http://deb.debian.org/debian >"$CACHE/debootstrap-$arch.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap-$arch.log" >&2; exit 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  ref="$BASE_REF-$arch"
  if ! docker buildx imagetools inspect "$ref" >/dev/null 2>&1; then
    log "pushing $ref"
    ctx="$(mktemp -d)"
    ln "$tarball" "$ctx/rootfs.tar" 2>/dev/null || cp "$tarball" "$ctx/rootfs.tar"
    printf 'FROM scratch\nADD rootfs.tar /\nCMD ["bash"]\n' >"$ctx/Dockerfile"
    docker buildx build --builder default --platform "linux/$arch" --push -t "$ref" "$ctx" >"$CACHE/push-$arch.log" 2>&1 \
      || { tail -20 "$CACHE/push-$arch.log" >&2; exit 1; }
    rm -rf "$ctx"
  fi
  refs+=("$ref")
done
if ! docker buildx imagetools inspect "$BASE_REF" >/dev/null 2>&1; then
  log "merging $BASE_REF"
  docker buildx imagetools create -t "$BASE_REF" "${refs[@]}" >/dev/null
fi

log "starting the private engine (containerd image store, own network namespace)"
PRIVATE_ENGINE="$(bash "$ROOT/scripts/private-engine.sh" start)"

cat >"$CACHE/env" <<ENV
E2E_REGISTRY=$REGISTRY
E2E_REGISTRY_USER=$REGISTRY_USER
E2E_REGISTRY_PASSWORD_FILE=$REG_DIR/password
E2E_BASE_IMAGE=$BASE_REF
E2E_PRIVATE_ENGINE=$PRIVATE_ENGINE
E2E_CHROMIUM=$(command -v chromium)
ENV
log "ready: registry $REGISTRY, base image $BASE_REF"
