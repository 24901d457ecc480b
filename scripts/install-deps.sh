#!/usr/bin/env bash
# Installs every Debian package Ampel's build, tests and benchmarks need.
# Idempotent: when everything is present it only checks and exits. Works as
# root without sudo, and through sudo otherwise. nginx is only a baseline for
# bench/run-server.sh, which starts its own: the system service that
# installing the package may start is stopped and disabled again.
set -euo pipefail

packages=(
	# build
	gcc meson ninja-build pkg-config python3 git
	libyaml-dev libjansson-dev libpcre2-dev libxml2-dev
	# the server: HTTP, store (SQLite, PostgreSQL client), crypto, HTTP client
	libmicrohttpd-dev libsqlite3-dev libpq-dev libsodium-dev libcurl4-openssl-dev
	# tests, sanitizers, fuzzing
	libcmocka-dev clang libclang-rt-14-dev
	# ampel run --sandbox (and its tests)
	bubblewrap
	# the store's tests start a throw-away PostgreSQL server
	postgresql
	# lint and benchmarks (bench/run-server.sh: wrk against ampel and nginx)
	clang-format cppcheck hyperfine findutils wrk nginx curl
)

missing=()
for pkg in "${packages[@]}"; do
	[[ $pkg == \#* ]] && continue
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done

# The validators of generated files (../shared/validators) run on Node.js;
# any node and npm will do, Debian's when there is none.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
	exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null; then
	sudo=(sudo)
else
	echo "install-deps: missing packages (${missing[*]}) and neither root nor sudo" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# Installing nginx starts it on port 80 and enables it at boot, under
# systemd or, without systemd, through its init script (unless a policy-rc.d
# forbids it, as in Debian's container images). The benchmark runs its own
# nginx on a loopback port, so undo that, but only for an nginx installed
# just now: one that was already there is left alone.
if [[ " ${missing[*]} " == *" nginx "* ]]; then
	if [[ -d /run/systemd/system ]]; then
		"${sudo[@]}" systemctl disable --now nginx.service >/dev/null 2>&1 || true
	elif [[ -x /etc/init.d/nginx ]]; then
		"${sudo[@]}" /etc/init.d/nginx stop >/dev/null 2>&1 || true
		"${sudo[@]}" update-rc.d nginx disable >/dev/null 2>&1 || true
	fi
fi
