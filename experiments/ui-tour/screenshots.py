"""Screenshots of a sweep in MLflow's own UI, for the README's "The MLflow UI" section.

Starts a real ``mlflow ui`` on a store, drives a real headless Chromium through Playwright, and
saves one small PNG per view the README describes: where the experiment opens, the runs table
grouped by configuration, the cost-accuracy scatter, the parent run's comparison table, a run's
Traces tab filtered to its wrong answers, one trace, and the evaluation view comparing a run with
the LLM-only run as its baseline.

Usage (from the project root; see README.md beside this file for the setup):

    python experiments/ui-tour/screenshots.py --store sqlite:///$PWD/mlruns/ui-tour.db \
        --experiment ui-tour --out experiments/ui-tour/shots

A step the UI no longer offers (MLflow moves its buttons between releases) is logged and its page
is captured as it is, so one changed menu does not cost the other pictures. Not part of
``make test``: it needs a system Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("ui-tour")

VIEWPORT = {"width": 1440, "height": 900}
SETTLE_MS = 2500  # the UI fetches after it paints: wait before a picture


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_ui(store: str) -> Iterator[str]:
    """A real ``mlflow ui`` on ``store``, on a free local port, until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"mlflow ui did not start on {base}") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def rest(base: str, route: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{base}{route}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def find_runs(base: str, experiment: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The experiment's id and its runs' ids and names by role: the parent run (``parent``),
    the newest run of each strategy (``llm``, ``router``...)."""
    with urllib.request.urlopen(
        f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={experiment}", timeout=30
    ) as response:
        experiment_id = json.loads(response.read())["experiment"]["experiment_id"]
    found = rest(
        base, "/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment_id], "max_results": 200}
    )["runs"]
    runs: dict[str, str] = {}
    names: dict[str, str] = {}
    for run in found:
        tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
        role = "parent" if tags.get("delegate.role") == "sweep" else tags.get("strategy")
        if role and role not in runs:
            runs[role] = run["info"]["run_id"]
            names[role] = run["info"]["run_name"]
    return experiment_id, runs, names


def small(path: Path) -> None:
    """The picture in 256 colours (a UI's flat colours survive it), a third of its size."""
    from PIL import Image  # matplotlib's dependency: in the project's environment already

    with Image.open(path) as image:
        reduced = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    reduced.save(path, optimize=True)


class Tour:
    """One browser page and the pictures taken with it."""

    def __init__(self, page: Any, base: str, out: Path) -> None:
        self.page, self.base, self.out = page, base, out
        self.missed: list[str] = []

    def go(self, route: str) -> None:
        self.page.goto(f"{self.base}/#{route}")
        with contextlib.suppress(Exception):  # the UI polls: it may never go quiet
            self.page.wait_for_load_state("networkidle", timeout=8000)
        self.page.wait_for_timeout(SETTLE_MS)
        # The assistant panel opens on every page load and covers a third of it.
        with contextlib.suppress(Exception):
            self.page.get_by_role("button", name="Close").last.click(timeout=2000)

    def step(self, what: str, action: Callable[[], Any]) -> bool:
        """Do one UI step; a step the UI does not offer is noted, not fatal."""
        try:
            action()
            self.page.wait_for_timeout(800)
            return True
        except Exception as e:
            log.warning("step skipped: %s (%s)", what, str(e).splitlines()[0])
            self.missed.append(what)
            return False

    def click(self, text: str, exact: bool = True) -> Callable[[], Any]:
        return lambda: self.page.get_by_text(text, exact=exact).first.click(timeout=5000)

    def shot(self, name: str) -> Path:
        self.page.wait_for_timeout(SETTLE_MS)
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path))
        small(path)
        log.info("saved %s", path)
        return path


def tour(t: Tour, experiment_id: str, runs: dict[str, str], names: dict[str, str]) -> None:
    """Every view of the README, in its order."""
    exp = f"/experiments/{experiment_id}"
    t.go(exp)
    quiet(t)
    t.shot("opens")
    t.step("open the Quality tab", t.click("Quality"))
    t.shot("opens_quality")
    t.go(f"{exp}/runs")
    t.step("group runs by the config_id tag", lambda: group_by(t, "config_id"))
    t.shot("runs_grouped")
    t.go(f"{exp}/runs?compareRunsMode=CHART")
    t.shot("chart_view")
    if "parent" in runs:
        t.go(f"{exp}/runs/{runs['parent']}/artifacts")
        t.step("open the comparison table", t.click("comparison_table.json"))
        t.shot("parent_table")
    if "router" in runs:
        t.go(f"{exp}/runs/{runs['router']}/traces")
        t.step("filter on the outcome tag", lambda: filter_tag(t, "outcome", "wrong"))
        t.shot("traces_wrong")
        first = t.page.get_by_text(re.compile(r"^tr-[0-9a-f]"))
        t.step("open the first trace", lambda: first.first.click(timeout=5000))
        t.shot("trace")
    if "router" in runs and "llm" in runs:
        t.go(f"{exp}/runs/{runs['router']}/traces")
        t.step("compare to the LLM-only run", lambda: baseline(t, names["llm"]))
        t.shot("compare_baseline")


def group_by(t: Tour, tag: str) -> None:
    t.page.get_by_role("button", name="Group").first.click(timeout=5000)
    t.page.get_by_text(tag, exact=True).first.click(timeout=5000)
    t.page.keyboard.press("Escape")


def filter_tag(t: Tour, key: str, value: str) -> None:
    """Filters, then Field = Tags, Key = ``key``, Value = ``value``, Apply filters."""
    t.page.get_by_role("button", name="Filters").first.click(timeout=5000)
    t.page.get_by_text("Select column").first.click(timeout=5000)
    t.page.get_by_role("option", name="Tags").click(timeout=5000)
    t.page.get_by_placeholder("Key").first.fill(key)
    t.page.get_by_placeholder("Value").first.fill(value)
    t.page.get_by_role("button", name="Apply filters").first.click(timeout=5000)
    t.page.keyboard.press("Escape")  # the filter's popover would cover the list


def baseline(t: Tour, run_name: str) -> None:
    """The run's Traces tab: "compare to" the run named ``run_name``."""
    t.page.get_by_text("baseline run").first.click(timeout=5000)
    t.page.get_by_role("option").filter(has_text=run_name).first.click(timeout=5000)


def quiet(t: Tour) -> None:
    """Dismiss the first-visit hint that covers the overview."""
    with contextlib.suppress(Exception):
        t.page.get_by_role("button", name="Got it").click(timeout=3000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="the tracking URI (sqlite:///...)")
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "shots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with mlflow_ui(args.store) as base, sync_playwright() as p:
        experiment_id, runs, names = find_runs(base, args.experiment)
        browser = p.chromium.launch(executable_path=args.chromium, headless=True)
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        t = Tour(page, base, args.out)
        tour(t, experiment_id, runs, names)
        browser.close()
    if t.missed:
        log.warning("%d step(s) the UI did not offer: %s", len(t.missed), "; ".join(t.missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
