#!/usr/bin/env bash
# Makes sure the Debian packages the site needs are installed.
#   scripts/system-packages.sh run    what `make run` needs
#   scripts/system-packages.sh test   what the whole test suite needs
# Installs what is missing with apt-get where it can (Debian, as root or with sudo); otherwise names
# the packages and carries on, and tests needing them are skipped. Under CI=true a package that
# cannot be installed is an error.
set -euo pipefail
profile=${1:-run}

# package:probe, where the probe is a command on PATH or a shared library.
needs=(libmagic1:lib:libmagic.so.1 ffmpeg:cmd:ffprobe)
if [ "$profile" = test ]; then
  needs+=(clamav:cmd:sigtool clamav-daemon:cmd:clamd chromium:cmd:chromium wrk:cmd:wrk
    default-jre-headless:cmd:java npm:cmd:npm)
fi

missing=()
for need in "${needs[@]}"; do
  IFS=: read -r package kind probe <<<"$need"
  if [ "$kind" = cmd ]; then
    command -v "$probe" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$probe" >/dev/null 2>&1 || missing+=("$package")
  else
    /sbin/ldconfig -p 2>/dev/null | grep -q "$probe" || missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
  echo "Installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi
echo "Missing system packages: ${missing[*]} (install them with your package manager)." >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
echo "Carrying on: what needs them will not work, and their tests will be skipped." >&2
