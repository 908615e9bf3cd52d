#!/usr/bin/env bash
# The offline mixed study: the three strategies on 10 problems of dataset=mixed (every source and
# every MATH-500 level), SmolLM2-135M through llama.cpp as both models, cache off, then the
# comparison (with its tables by level and by source) rebuilt from MLflow alone.
# Usage: bash experiments/offline-mixed/run.sh   (from the project root, after make setup-server)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
SWEEP_DIR=multirun/offline-mixed/$(date -u +%Y-%m-%d_%H-%M-%S)

# The large model is priced as if billed at GPT-4o's list prices (conf/llm/gpt-4o.yaml), so the
# cost axis shows what its tokens would cost; the local model itself costs nothing.
$PY -m delegate -m experiment=offline dataset=mixed strategy=llm,slm,router samples=10 \
    llm=local-llamacpp slm=smollm2-135m-llamacpp max_tokens=96 \
    cache.enabled=false progress=false \
    tracking.experiment=offline-mixed \
    llm.price.input=2.50 llm.price.cached_input=1.25 llm.price.output=10.00 \
    hydra.sweep.dir="$SWEEP_DIR"

$PY -m delegate.compare --experiment offline-mixed --sweep latest \
    --out experiments/offline-mixed/results
