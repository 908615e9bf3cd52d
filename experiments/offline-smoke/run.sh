#!/usr/bin/env bash
# The offline smoke study: all three strategies x 3 seeds with the offline preset, run for real
# (cache off, so every figure is this run's), then the comparison rebuilt from MLflow alone.
# Usage: bash experiments/offline-smoke/run.sh   (from the project root, after make setup)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
SWEEP_DIR=multirun/offline-smoke/$(date -u +%Y-%m-%d_%H-%M-%S)

# The large model is priced as if billed at GPT-4o's list prices (conf/llm/gpt-4o.yaml), so the
# cost axis shows what delegating its tokens would save; the local model itself costs nothing.
$PY -m delegate -m experiment=offline \
    strategy=llm,slm,router seed=1,2,3 \
    cache.enabled=false progress=false \
    tracking.experiment=offline-smoke \
    llm.price.input=2.50 llm.price.cached_input=1.25 llm.price.output=10.00 \
    hydra.sweep.dir="$SWEEP_DIR"

$PY -m delegate.compare --experiment offline-smoke --sweep latest \
    --out experiments/offline-smoke/results
