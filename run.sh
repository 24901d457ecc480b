#!/usr/bin/env bash
# First command of the quick start: installs what is missing, builds, and
# runs Ampel's main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make run
