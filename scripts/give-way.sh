#!/bin/sh
# Runs a command at a lower CPU priority than the web, for a machine the two share:
#   scripts/give-way.sh NICE COMMAND [ARGUMENT...]
# honcho starts each Procfile process in a session of its own, and Linux with autogroups shares the CPU out
# between sessions before a process's nice counts, so the session's autogroup nice is set too. Only when this
# process leads its session, never a shell's it was typed into; without autogroups that part does nothing.
set -eu
nice_value=${1:?the nice value}
shift
if [ "$(ps -o sid= $$)" -eq $$ ] 2>/dev/null; then
  echo "$nice_value" 2>/dev/null >/proc/self/autogroup || true
fi
exec nice -n "$nice_value" "$@"
