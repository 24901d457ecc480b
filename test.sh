#!/usr/bin/env bash
# Second command of the quick start: installs what is missing, builds, and
# runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make test
