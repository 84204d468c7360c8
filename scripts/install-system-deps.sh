#!/usr/bin/env bash
# Install the system programs the test suite drives for real: Debian's chromium (browser tests through
# Playwright) and the PostgreSQL 15 server binaries (multicentre registry tests). Idempotent; needs root
# (or sudo) only when something is missing. When another apt/dpkg process holds the package locks (an
# unattended upgrade, a parallel install), it waits for them (apt's DPkg::Lock::Timeout, and a bounded
# retry around `apt-get update`, whose list lock that option does not cover) instead of failing at once.
set -euo pipefail

LOCK_TIMEOUT_S="${REDIF_APT_LOCK_TIMEOUT_S:-900}"

need=()
if [ -n "${REDIF_SYSDEPS_PACKAGES:-}" ]; then
  # install exactly these (used by the test of the lock wait)
  read -r -a need <<< "$REDIF_SYSDEPS_PACKAGES"
else
  if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    need+=(postgresql)
  fi
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: missing ${need[*]} and not root; install them with your package manager" >&2
    exit 0
  fi
fi

# Run an apt-get command; while it fails because another process holds an apt/dpkg lock, wait and retry
# until LOCK_TIMEOUT_S has passed. Any other failure is reported at once.
apt_locked_retry() {
  local deadline=$(( $(date +%s) + LOCK_TIMEOUT_S )) log
  log="$(mktemp)"
  while true; do
    if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_TIMEOUT_S" "$@" \
        >"$log" 2>&1; then
      rm -f "$log"; return 0
    fi
    if grep -qiE "could not get lock|unable to acquire|is another process using it" "$log" \
        && [ "$(date +%s)" -lt "$deadline" ]; then
      echo "install-system-deps: apt is locked by another process; waiting" >&2
      sleep 5
      continue
    fi
    cat "$log" >&2; rm -f "$log"
    echo "install-system-deps: 'apt-get $*' failed (see above)" >&2
    return 1
  done
}

echo "install-system-deps: installing ${need[*]}" >&2
if [ -z "${REDIF_SYSDEPS_NO_UPDATE:-}" ]; then apt_locked_retry update -qq; fi
apt_locked_retry install -y -qq "${need[@]}"
