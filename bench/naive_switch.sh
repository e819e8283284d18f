#!/bin/sh
# The naive blue-green switch the usual playbooks do, for contrast with `bluegreen deploy`:
# start the new version on the idle port, wait until it answers, rewrite the upstream,
# reload nginx, stop the old process at once.
# usage: naive_switch.sh NEW_PORT OLD_PID VERSION
# env: APP_CMD (the app, without --port), UPSTREAM, UPSTREAM_FILE, NGINX (nginx with its -p/-c)
set -eu
new_port=$1 old_pid=$2 version=$3
BLUEGREEN_VERSION=$version setsid $APP_CMD --port "$new_port" >/dev/null 2>&1 &
echo "pid $!"
until curl -fs -o /dev/null "http://127.0.0.1:$new_port/health"; do sleep 0.1; done
echo "healthy $(date +%s.%N)"
printf 'upstream %s {\n    server 127.0.0.1:%s;\n    keepalive 16;\n    keepalive_timeout 1s;\n}\n' \
    "$UPSTREAM" "$new_port" > "$UPSTREAM_FILE"
$NGINX -s reload
[ "$old_pid" = 0 ] || kill "$old_pid"
echo "done $(date +%s.%N)"
