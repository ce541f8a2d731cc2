#!/usr/bin/env bash
# Build sandboxer's local base image: Debian bookworm (minbase) with python3, venv, pip and CA
# certificates, bootstrapped with debootstrap and loaded with `docker import`. For machines that
# cannot pull from an image registry; see README.md next to this file.
#
# Usage: templates/base-image/build.sh [--force]
#   --force   rebuild even if the tag already exists
#
# Environment:
#   SANDBOXER_BASE_IMAGE     tag to create (default sandboxer-base:bookworm)
#   SANDBOXER_DEBIAN_MIRROR  Debian mirror to bootstrap from (default: the one the host's apt
#                            sources name, else http://deb.debian.org/debian)
#
# Needs root (debootstrap), debootstrap, and a running Docker engine (.ci/start-docker.sh).
set -euo pipefail

SUITE=bookworm
PACKAGES=python3,python3-venv,python3-pip,ca-certificates
TAG=${SANDBOXER_BASE_IMAGE:-sandboxer-base:bookworm}
FALLBACK_MIRROR=http://deb.debian.org/debian

log() { printf '[base-image] %s\n' "$*" >&2; }
die() { printf '[base-image] ERROR: %s\n' "$*" >&2; exit 1; }

force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) die "unknown argument: $arg (usage: $0 [--force])" ;;
    esac
done

# Print the URIs of enabled binary ("deb") entries for $1 (a suite), one per line, from one-line
# (*.list) and deb822 (*.sources) files. With $1 empty, print every such URI.
apt_source_uris() {
    local suite=$1 f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [options] URI SUITE COMPONENTS...
        awk -v suite="$suite" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if (suite == "" || $(i + 1) == suite) print $i
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        # Stanzas separated by blank lines; a line starting with whitespace continues a field.
        awk -v suite="$suite" '
            function flush(   n, i, u, s, ok) {
                if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
                    ok = (suite == "")
                    n = split(suites, s, " ")
                    for (i = 1; i <= n; i++) if (s[i] == suite) ok = 1
                    n = split(uris, u, " ")
                    if (ok) for (i = 1; i <= n; i++) print u[i]
                }
                types = ""; suites = ""; uris = ""; enabled = ""; field = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { val = $0; sub(/^[ \t]+/, "", val)
                       if (field == "types") types = types " " val
                       else if (field == "suites") suites = suites " " val
                       else if (field == "uris") uris = uris " " val
                       next }
            {
                field = tolower($0); sub(/:.*/, "", field)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (field == "types") types = val
                else if (field == "suites") suites = val
                else if (field == "uris") uris = val
                else if (field == "enabled") enabled = val
            }
            END { flush() }' "$f"
    done
}

# The host's Debian mirror: an entry for our suite first, then any entry that looks like a
# Debian archive (not the security one), then the public redirector.
find_mirror() {
    local uri
    uri=$(apt_source_uris "$SUITE" | grep -E '^(https?|file):' | grep -v -- '-security' | head -n 1 || true)
    if [ -z "$uri" ]; then
        uri=$(apt_source_uris "" | grep -E '^(https?|file):' | grep -v -- '-security' \
            | grep -E '/debian/?$' | head -n 1 || true)
    fi
    printf '%s\n' "${uri:-$FALLBACK_MIRROR}"
}

docker info >/dev/null 2>&1 || die "no Docker engine answers 'docker info' (start one: .ci/start-docker.sh)"

if [ "$force" -eq 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    log "$TAG already exists; nothing to do (use --force to rebuild)"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null 2>&1 || die "debootstrap not found: apt-get install -y debootstrap"

MIRROR=${SANDBOXER_DEBIAN_MIRROR:-$(find_mirror)}
ROOTFS=$(mktemp -d /var/tmp/sandboxer-rootfs.XXXXXX)

cleanup() {
    # debootstrap mounts proc/sys inside the rootfs and may leave them mounted if it fails:
    # unmount (deepest first) before deleting, and never let rm cross into another filesystem.
    local m
    awk -v root="$ROOTFS/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf --one-file-system "$ROOTFS"
    rm -f "$ROOTFS.log"
}
trap cleanup EXIT
# Turn signals into a normal exit so the EXIT trap runs (bash skips it when killed by TERM).
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
log "bootstrapping $SUITE ($PACKAGES) from $MIRROR"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" \
    >"$ROOTFS.log" 2>&1 || { tail -n 30 "$ROOTFS.log" >&2; die "debootstrap failed"; }
log "bootstrapped in $((SECONDS - start))s"

# Slim it down, the way Debian's official -slim images do, and keep it slim for later installs:
# dpkg skips docs/man pages/translations and apt drops downloaded .debs.
chroot "$ROOTFS" apt-get clean
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/sandboxer-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$ROOTFS/etc/apt/apt.conf.d/sandboxer-slim" <<'EOF'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Acquire::Languages "none";
EOF
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOTFS"/usr/share/{man,info,locale,lintian}/* \
    "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/cache/debconf/*-old \
    "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/* "$ROOTFS"/root/.cache
# Docker supplies these at run time; don't bake in the build host's.
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"

log "importing as $TAG"
tar --numeric-owner -C "$ROOTFS" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PYTHONUNBUFFERED=1' \
    --change 'WORKDIR /' \
    --change 'CMD ["/bin/bash"]' \
    --message "sandboxer base image: debootstrap $SUITE minbase + $PACKAGES from $MIRROR" \
    - "$TAG" >/dev/null

size=$(docker image inspect --format '{{.Size}}' "$TAG")
log "built $TAG ($((size / 1000000)) MB) in $((SECONDS - start))s"
