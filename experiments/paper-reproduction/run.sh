#!/usr/bin/env bash
# Reproduce the reference study with this framework: GPT-4o alone, Qwen2.5-Math-1.5B-Instruct
# alone, and GPT-4o delegating to Qwen, on the same GSM8K test problems, 3 seeds, both prompt
# sets (GSM8K's test split ships with the package). Needs OPENAI_API_KEY and a GPU for Qwen (or
# slm=vllm with a vLLM server: see the README).
# Usage: bash experiments/paper-reproduction/run.sh   (from the project root, after make setup)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
: "${OPENAI_API_KEY:?set OPENAI_API_KEY (or put it in .env)}"
SWEEP_DIR=multirun/paper-reproduction/$(date -u +%Y-%m-%d_%H-%M-%S)

$PY -m delegate -m experiment=paper \
    strategy=llm,slm,router seed=123,1,2 prompt=reference,cot \
    "hydra.sweep.dir=$SWEEP_DIR" "$@"

$PY -m delegate.compare --experiment delegate-paper --sweep latest \
    --out experiments/paper-reproduction/results
