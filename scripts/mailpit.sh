#!/usr/bin/env bash
# Ensures a Mailpit test SMTP server runs on loopback and prints the
# environment the tests read. Usage: eval "$(scripts/mailpit.sh start)"; scripts/mailpit.sh stop
set -euo pipefail
dir=${MAILPIT_DIR:-${TMPDIR:-/tmp}/redengine-mailpit}
smtp=${MAILPIT_SMTP:-127.0.0.1:1025}
http=${MAILPIT_HTTP:-127.0.0.1:8025}
mkdir -p "$dir"
bin=$(command -v mailpit || true)
[ -n "$bin" ] || bin="$(go env GOPATH)/bin/mailpit"
case "${1:-start}" in
start)
  if [ ! -x "$bin" ]; then
    echo "installing mailpit (go install github.com/axllent/mailpit@v1.33.1)" >&2
    GOFLAGS= go install github.com/axllent/mailpit@v1.33.1 >&2
    bin="$(go env GOPATH)/bin/mailpit"
  fi
  if ! curl -fsS "http://$http/api/v1/info" >/dev/null 2>&1; then
    # A fresh database for each server started: one kept from earlier runs
    # grows without end (--max below), and the crash test's look-ups of
    # thousands of Message-IDs slowed past its bound once it held 58,000.
    rm -f "$dir"/mailpit.db*
    # --ignore-duplicate-ids: the mailer delivers at least once and gives every
    # copy of an email the same Message-ID; Mailpit keeps one (docs/email.md).
    # --max: Mailpit drops the oldest messages beyond 500 by default, and the
    # long crash test checks thousands.
    nohup "$bin" --smtp "$smtp" --listen "$http" --smtp-auth-accept-any --smtp-auth-allow-insecure \
      --ignore-duplicate-ids --max 1000000 --database "$dir/mailpit.db" >"$dir/mailpit.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      curl -fsS "http://$http/api/v1/info" >/dev/null 2>&1 && break
      sleep 0.1
    done
    curl -fsS "http://$http/api/v1/info" >/dev/null || { echo "mailpit did not start; see $dir/mailpit.log" >&2; exit 1; }
  fi
  echo "export REDENGINE_TEST_SMTP=$smtp REDENGINE_TEST_MAILPIT=http://$http"
  ;;
stop)
  if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; rm -f "$dir/pid"; fi
  ;;
esac
