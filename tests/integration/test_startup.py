"""An API-only run (both models behind HTTP endpoints) never imports torch or transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from helpers import resolved
from delegate.runner import run
cfg = resolved("strategy=router", "llm=gpt-4o", "llm.base_url={url}", "llm.api_key_env=null",
               "slm=vllm", "slm.base_url={url}", "dataset=mini", "samples=2", "progress=false",
               "cache.enabled=false", "tracking.uri={store}")
run(cfg, Path({run_dir!r}))
print(sorted(m for m in ("torch", "transformers", "llama_cpp") if m in sys.modules))
"""


def test_api_only_run_imports_no_local_model_stack(scripted_server, store, tmp_path: Path) -> None:
    server = scripted_server([])
    script = SCRIPT.format(
        tests=str(Path(__file__).parents[1]),
        url=server.url,
        store=store,
        run_dir=str(tmp_path / "run"),
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert len(server.arrivals) == 2  # the run really went through the endpoint
