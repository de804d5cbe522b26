#!/usr/bin/env bash
# Starts a clamd of our own for development and tests: signature downloads are not possible
# everywhere, so it uses a local database built with sigtool that detects the EICAR test file.
#   scripts/local-clamd.sh start DIR MAX_BYTES   writes DIR/db, DIR/clamd.conf, starts clamd on DIR/clamd.sock
#   scripts/local-clamd.sh stop DIR
# Prints the socket path on success. MAX_BYTES is StreamMaxLength and the scan limits: pass the
# application's CLAMD_MAX_BYTES, so that clamd takes every file the application sends it.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
action=${1:?start or stop}
dir=$(mkdir -p "${2:?directory}" && cd "$2" && pwd)

if [ "$action" = stop ]; then
  if [ -s "$dir/clamd.pid" ]; then
    kill "$(cat "$dir/clamd.pid")" 2>/dev/null || true
    rm -f "$dir/clamd.pid"
  fi
  exit 0
fi

max_bytes=${3:?MAX_BYTES, the CLAMD_MAX_BYTES of the application}
command -v clamd >/dev/null && command -v sigtool >/dev/null || { echo "clamd and sigtool are not installed" >&2; exit 3; }
if [ -S "$dir/clamd.sock" ] && [ -s "$dir/clamd.pid" ] && kill -0 "$(cat "$dir/clamd.pid")" 2>/dev/null; then
  if grep -qx "StreamMaxLength $max_bytes" "$dir/clamd.conf"; then
    echo "$dir/clamd.sock"
    exit 0
  fi
  # Running with another limit: start again with this one.
  pid=$(cat "$dir/clamd.pid")
  kill "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi

mkdir -p "$dir/db"
# The EICAR test string, built from two halves so that this script is not itself a test file.
eicar_head='X5O!P%@AP[4\PZX54(P^)7CC)7}$'
printf '%s%s' "$eicar_head" 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$dir/eicar.txt"
sigtool --md5 "$dir/eicar.txt" | sed 's/:[^:]*$/:Local.Test.EICAR-HDB/' > "$dir/db/local.hdb"
echo "Local.Test.EICAR-NDB:0:*:$(printf '%s' EICAR-STANDARD-ANTIVIRUS-TEST-FILE | sigtool --hex-dump)" > "$dir/db/local.ndb"
rm -f "$dir/eicar.txt"

cat > "$dir/clamd.conf" <<CONF
DatabaseDirectory $dir/db
LocalSocket $dir/clamd.sock
LocalSocketMode 600
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
Foreground yes
StreamMaxLength $max_bytes
MaxFileSize $max_bytes
MaxScanSize $max_bytes
# A file over the limits is reported, never passed as clean.
AlertExceedsMax yes
CONF

rm -f "$dir/clamd.sock"
# In the background rather than daemonized: a daemonizing clamd waits for a SIGINT from its child, for ever when
# it comes before the wait or SIGINT is ignored (as in pytest-xdist's processes). Its output goes elsewhere, so
# that whoever reads this script's is done when the script ends.
clamd -c "$dir/clamd.conf" </dev/null >/dev/null 2>&1 &
pid=$!
# The socket appears once the signatures are loaded, which a busy machine may take a while over.
for _ in $(seq 1200); do
  [ -S "$dir/clamd.sock" ] && { echo "$dir/clamd.sock"; exit 0; }
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "clamd did not start; see $dir/clamd.log" >&2
exit 1
