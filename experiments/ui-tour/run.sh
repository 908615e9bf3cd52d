#!/usr/bin/env bash
# The UI tour: a small real sweep (the four strategies x 2 seeds with the offline preset) into
# its own store, then the README's screenshots taken from a real `mlflow ui` by headless Chromium.
# Usage: bash experiments/ui-tour/run.sh   (from the project root, after make setup, with
# `apt-get install chromium` and `pip install playwright` done; see README.md beside this file)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
STORE="sqlite:///$PWD/mlruns/ui-tour/mlflow.db"

$PY -m delegate -m experiment=offline \
    strategy=llm,slm,router,cascade seed=1,2 samples=4 max_tokens=96 cascade.samples=3 \
    cache.enabled=false progress=false \
    tracking.uri="$STORE" tracking.experiment=ui-tour \
    llm.price.input=2.50 llm.price.cached_input=1.25 llm.price.output=10.00 \
    hydra.sweep.dir="multirun/ui-tour/$(date -u +%Y-%m-%d_%H-%M-%S)"

$PY experiments/ui-tour/screenshots.py --store "$STORE" --experiment ui-tour \
    --out experiments/ui-tour/shots
