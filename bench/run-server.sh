#!/usr/bin/env bash
# Measures `ampel serve` with wrk against nginx in the same run: requests/s
# and p99 latency of GET /health and of an authenticated list endpoint
# (GET /api/v1/users, with an API token and with a login access token), each
# as a ratio to nginx serving a static file of the same bytes from the same
# machine with the same wrk parameters; then the server's resident memory,
# idle and after the load. Figures, never a pass/fail threshold.
#
# Both servers listen on 127.0.0.1 and share the cores with wrk. ampel runs
# with its defaults (SQLite under a temporary data directory, log level warn,
# so no access log); nginx runs as the current user with its own config
# (access_log off, one worker per core, keep-alive) and is no system service.
# nginx answers the authenticated path without any authentication: the ratio
# is what authentication, RBAC and the database cost over sending the bytes.
#
# Usage: bench/run-server.sh [BUILD_DIR]   (or env BUILD_DIR; default: build)
#        BENCH_SECONDS=2 BENCH_ROUNDS=3 BENCH_CONNECTIONS=32 BENCH_THREADS=2
#        to change the load: each target gets ROUNDS runs of SECONDS each,
#        interleaved (ampel, nginx, ampel, nginx, ...) so that the rest of the
#        machine's load weighs on both sides alike; requests/s is the mean
#        of the rounds, p99 their median. Takes 5 x ROUNDS x SECONDS + ~5 s.
# Needs wrk, nginx and curl (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-${BUILD_DIR:-build}}
seconds=${BENCH_SECONDS:-2}
rounds=${BENCH_ROUNDS:-3}
connections=${BENCH_CONNECTIONS:-32}
threads=${BENCH_THREADS:-2}
ampel=$build/ampel
me=bench/run-server.sh

# nginx lives in /usr/sbin, which is not on every user's PATH.
nginx_bin=$(command -v nginx || true)
[ -n "$nginx_bin" ] || [ ! -x /usr/sbin/nginx ] || nginx_bin=/usr/sbin/nginx
for tool in wrk curl; do
	if ! command -v "$tool" >/dev/null; then
		echo "$me: $tool is missing: run scripts/install-deps.sh" >&2
		exit 1
	fi
done
if [ -z "$nginx_bin" ]; then
	echo "$me: nginx is missing: run scripts/install-deps.sh" >&2
	exit 1
fi
if [ ! -x "$ampel" ]; then
	ninja -C "$build" ampel >/dev/null
fi

dir=$(mktemp -d)
ampel_pid=
nginx_pid=

# Stops a process we started: TERM, then KILL if it is still there after
# 10 s; its exit status in $stop_status, and what happened in $stop_how.
stop_status=0
stop_how=
stop_process() {
	local pid=$1 i
	stop_status=0
	stop_how="on SIGTERM"
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || stop_how="before it was stopped"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -KILL "$pid" 2>/dev/null; then stop_how="10 s after SIGTERM (killed)"; fi
	wait "$pid" 2>/dev/null || stop_status=$?
}
# A server that does not stop cleanly on SIGTERM is a finding too: say so,
# and fail the run (after the figures, which stand). When the run failed
# already, only a crash is worth a word.
cleanup() {
	local status=$?
	stop_process "$ampel_pid"
	if [ -n "$ampel_pid" ] && [ "$stop_status" != 0 ] &&
		{ [ "$status" = 0 ] || ((stop_status > 128 && stop_status != 143)); }; then
		local signal=
		((stop_status <= 128)) || signal=" (signal $((stop_status - 128)))"
		echo "$me: ampel serve exited $stop_how with status $stop_status$signal" >&2
		tail -n 5 "$dir/ampel.err" >&2 2>/dev/null || true
		((status != 0)) || status=1
	fi
	stop_process "$nginx_pid"
	rm -rf "$dir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
	echo "$me: $*" >&2
	exit 1
}

# --- ampel: start on a free port, read the address and the admin password.
: >"$dir/ampel.out"
"$ampel" serve --listen 127.0.0.1:0 --data "$dir/data" >"$dir/ampel.out" 2>"$dir/ampel.err" &
ampel_pid=$!
address=
for ((i = 0; i < 200; i++)); do
	address=$(sed -n 's|^ampel: serving on http://\([^ ]*\).*|\1|p' "$dir/ampel.out")
	[ -n "$address" ] && break
	kill -0 "$ampel_pid" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$address" ]; then
	cat "$dir/ampel.out" "$dir/ampel.err" >&2
	die "ampel serve did not start"
fi
password=$(sed -n "s|.*log in as 'admin' with password \([^ ]*\).*|\1|p" "$dir/ampel.out")
[ -n "$password" ] || die "ampel serve printed no admin password (not a fresh data directory?)"
base=http://$address

# JSON string member NAME of the object on stdin (no jq needed: tokens are
# base64url and ids are UUIDs, so no escapes to undo).
json_member() { sed -n "s|.*\"$1\":\"\([^\"]*\)\".*|\1|p"; }

login=$(curl -sS -m 30 -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d "{\"name\":\"admin\",\"password\":\"$password\"}")
access_token=$(json_member access_token <<<"$login")
[ -n "$access_token" ] || die "login failed: $login"
created=$(curl -sS -m 30 -X POST "$base/api/v1/tokens" -H "Authorization: Bearer $access_token" \
	-H 'Content-Type: application/json' -d '{"name":"bench"}')
api_token=$(json_member token <<<"$created")
[ -n "$api_token" ] || die "creating an API token failed: $created"

# The bodies, byte for byte, become nginx's static files.
mkdir -p "$dir/www" "$dir/nginx"
fetch() { # URL FILE [CURL ARGS]: body into FILE, fails unless 200
	local url=$1 file=$2 code
	shift 2
	code=$(curl -sS -m 30 -o "$file" -w '%{http_code}' "$@" "$url")
	[ "$code" = 200 ] || die "GET $url answered $code: $(cat "$file")"
}
fetch "$base/health" "$dir/www/health.json"
fetch "$base/api/v1/users" "$dir/www/users.json" -H "Authorization: Bearer $api_token"
health_bytes=$(wc -c <"$dir/www/health.json")
users_bytes=$(wc -c <"$dir/www/users.json")

# --- nginx: own config, own port, foreground, as this user. As root its
# workers run as nobody, so they need to reach the files.
chmod 0711 "$dir"
chmod 0755 "$dir/www"
nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cores=$(nproc)
cat >"$dir/nginx/nginx.conf" <<EOF
worker_processes $cores;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/json;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	client_body_temp_path $dir/nginx/client_body;
	proxy_temp_path $dir/nginx/proxy;
	fastcgi_temp_path $dir/nginx/fastcgi;
	uwsgi_temp_path $dir/nginx/uwsgi;
	scgi_temp_path $dir/nginx/scgi;
	server {
		listen 127.0.0.1:$nginx_port;
		root $dir/www;
		location / { }
	}
}
EOF
"$nginx_bin" -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" \
	-g 'daemon off;' 2>"$dir/nginx/stderr" &
nginx_pid=$!
nginx_base=http://127.0.0.1:$nginx_port
for ((i = 0; i < 100; i++)); do
	curl -s -m 5 -o /dev/null "$nginx_base/health.json" && break
	if ! kill -0 "$nginx_pid" 2>/dev/null; then
		cat "$dir/nginx/stderr" "$dir/nginx/error.log" >&2 2>/dev/null || true
		die "nginx did not start"
	fi
	sleep 0.05
done
fetch "$nginx_base/users.json" "$dir/nginx/check.json"
cmp -s "$dir/nginx/check.json" "$dir/www/users.json" || die "nginx serves other bytes than ampel"

# --- the runs.
rss_kib() { awk -v f="$1" '$1 == f ":" { print $2 }' "/proc/$ampel_pid/status"; }
wrk_args=(-t"$threads" -c"$connections" -d"${seconds}s" --latency)
# RUN_NAME URL [WRK ARGS]: one round; wrk's output appended to
# $dir/RUN_NAME.wrk. Fails on non-2xx answers, which would measure the error
# path.
run_wrk() {
	local name=$1 url=$2
	shift 2
	wrk "${wrk_args[@]}" "$@" "$url" >"$dir/round.wrk" 2>&1 || {
		cat "$dir/round.wrk" >&2
		die "wrk failed against $url"
	}
	if grep -q 'Non-2xx' "$dir/round.wrk" || ! grep -q '^Requests/sec:' "$dir/round.wrk"; then
		cat "$dir/round.wrk" >&2
		die "$url answered errors under load, or wrk measured nothing"
	fi
	cat "$dir/round.wrk" >>"$dir/$name.wrk"
}
# Over the rounds of RUN_NAME: mean requests/s, median p99 in ms, and the
# socket errors wrk reported, if any.
wrk_rps() { awk '$1 == "Requests/sec:" { t += $2; n++ } END { printf "%.0f", t / n }' "$dir/$1.wrk"; }
wrk_p99_ms() {
	awk '$1 == "99%" {
		v = $2 + 0
		if ($2 ~ /us$/) v /= 1000; else if ($2 ~ /ms$/) v += 0
		else if ($2 ~ /m$/) v *= 60000; else if ($2 ~ /s$/) v *= 1000
		p[n++] = v }
	END {
		for (i = 1; i < n; i++) for (j = i; j > 0 && p[j - 1] > p[j]; j--) { t = p[j]; p[j] = p[j - 1]; p[j - 1] = t }
		printf "%.3f", n % 2 ? p[int(n / 2)] : (p[n / 2 - 1] + p[n / 2]) / 2 }' "$dir/$1.wrk"
}
wrk_errors() { sed -n 's/^ *Socket errors: *//p' "$dir/$1.wrk" | paste -sd ';' -; }

# Idle: started, logged in, no load yet. Then a short warm-up of each
# server and the rounds; ampel's RSS right after each of its runs, its peak
# (VmHWM) reset before the rounds so that it is the load's and not
# start-up's (Argon2id of the admin password: 64 MiB).
idle_kib=$(rss_kib VmRSS)
short=(-t"$threads" -c"$connections" -d1s)
wrk "${short[@]}" "$base/health" >/dev/null 2>&1
wrk "${short[@]}" "$nginx_base/health.json" >/dev/null 2>&1
hwm_note="during the load"
echo 5 2>/dev/null >"/proc/$ampel_pid/clear_refs" || hwm_note="since start"
loaded_kib=0
ampel_run() {
	run_wrk "$@"
	kill -0 "$ampel_pid" 2>/dev/null || die "ampel serve died under the load of $2"
	local rss
	rss=$(rss_kib VmRSS)
	((rss > loaded_kib)) && loaded_kib=$rss
	return 0
}
for ((round = 0; round < rounds; round++)); do
	ampel_run ampel-health "$base/health"
	run_wrk nginx-health "$nginx_base/health.json"
	ampel_run ampel-users-token "$base/api/v1/users" -H "Authorization: Bearer $api_token"
	run_wrk nginx-users "$nginx_base/users.json"
	ampel_run ampel-users-access "$base/api/v1/users" -H "Authorization: Bearer $access_token"
done
hwm_kib=$(rss_kib VmHWM)

# --- the figures.
line() { # LABEL AMPEL_RUN NGINX_RUN
	local a=$2 n=$3 errors run
	awk -v label="$1" -v ar="$(wrk_rps "$a")" -v ap="$(wrk_p99_ms "$a")" \
		-v nr="$(wrk_rps "$n")" -v np="$(wrk_p99_ms "$n")" 'BEGIN {
		printf "%s: ampel %d req/s p99 %.2f ms | nginx %d req/s p99 %.2f ms | ampel/nginx throughput %.2f, p99 %.1f\n",
			label, ar, ap, nr, np, ar / nr, ap / np }'
	for run in "$a" "$n"; do
		errors=$(wrk_errors "$run")
		if [ -n "$errors" ]; then echo "  (${run%%-*} socket errors: $errors)"; fi
	done
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
echo "server: wrk ${wrk_args[*]}, keep-alive, rounds alternating ampel and nginx: $rounds (mean req/s, median p99), $cores cores shared by wrk and the servers"
echo "server: nginx $("$nginx_bin" -v 2>&1 | sed 's|.*nginx/||') ($cores workers, access_log off) serves ampel's response bodies as static files, without authentication; ampel: SQLite, default log level (no access log)"
line "server GET /health ($health_bytes B)" ampel-health nginx-health
line "server GET /api/v1/users ($users_bytes B, authenticated, API token)" ampel-users-token nginx-users
line "server GET /api/v1/users ($users_bytes B, authenticated, access token)" ampel-users-access nginx-users
# The kernel updates VmHWM lazily; it can lag a VmRSS read just before.
((hwm_kib >= loaded_kib)) || hwm_kib=$loaded_kib
echo "server RSS: idle $(mib "$idle_kib"), loaded $(mib "$loaded_kib") (right after the runs; VmHWM peak $(mib "$hwm_kib") $hwm_note)"
