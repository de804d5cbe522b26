#!/usr/bin/env bash
# Starts a clamd of our own for development and tests: signature downloads are not possible
# everywhere, so it uses a local database built with sigtool that detects the EICAR test file.
#   scripts/local-clamd.sh start DIR [MAX_SIZE]   writes DIR/db, DIR/clamd.conf, starts clamd on DIR/clamd.sock
#   scripts/local-clamd.sh stop DIR
# Prints the socket path on success. MAX_SIZE (default 4000M, clamd's ceiling) is StreamMaxLength.
set -euo pipefail
PATH="$PATH:/usr/sbin:/sbin"
action=${1:?start or stop}
dir=$(mkdir -p "${2:?directory}" && cd "$2" && pwd)
max_size=${3:-4000M}

if [ "$action" = stop ]; then
  if [ -s "$dir/clamd.pid" ]; then
    kill "$(cat "$dir/clamd.pid")" 2>/dev/null || true
    rm -f "$dir/clamd.pid"
  fi
  exit 0
fi

command -v clamd >/dev/null && command -v sigtool >/dev/null || { echo "clamd and sigtool are not installed" >&2; exit 3; }
if [ -S "$dir/clamd.sock" ] && [ -s "$dir/clamd.pid" ] && kill -0 "$(cat "$dir/clamd.pid")" 2>/dev/null; then
  echo "$dir/clamd.sock"
  exit 0
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
Foreground no
StreamMaxLength $max_size
MaxFileSize $max_size
MaxScanSize $max_size
# A file over the limits is reported, never passed as clean.
AlertExceedsMax yes
CONF

rm -f "$dir/clamd.sock"
clamd -c "$dir/clamd.conf"
for _ in $(seq 100); do
  [ -S "$dir/clamd.sock" ] && { echo "$dir/clamd.sock"; exit 0; }
  sleep 0.1
done
echo "clamd did not start; see $dir/clamd.log" >&2
exit 1
