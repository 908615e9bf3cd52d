"""Screenshots of a sweep in MLflow's own UI, for the README's "The MLflow UI" section.

Starts a real ``mlflow ui`` on a store, drives a real headless Chromium through Playwright, and
saves one small PNG per view the README describes (``SHOTS``): where the experiment opens (with
MLflow's assistant panel and first-visit hints closed), its Quality tab and its cost panels, the
runs table grouped by configuration, the cost vs accuracy scatter (built in the chart view:
Add chart -> Scatter chart, X ``cost_per_problem_usd``, Y ``accuracy``), the parent run's
comparison table, a run's Traces tab filtered to its wrong answers, one trace, and a run's traces
compared with the LLM-only run's as baseline. Each view is taken in a fresh browser context, so
one view's settings (a grouping, a chart) do not leak into the next.

Usage (from the project root; ``make ui-tour`` installs what it needs and runs ``run.sh``, which
makes the store first; see README.md beside this file):

    python experiments/ui-tour/screenshots.py \
        --store sqlite:///$PWD/mlruns/ui-tour/mlflow.db --experiment ui-tour \
        --out experiments/ui-tour/shots

Every step must work: a step the UI no longer offers (MLflow moves its buttons between releases)
is reported, its view's picture is not written (an older one of that name is deleted, so no stale
picture is kept), the page as it was is saved under ``--failed`` to show what changed, the other
views are still taken, and the script exits 1. Not part of ``make test``: it needs a system
Chromium (``apt-get install chromium``); Playwright drives it through ``executable_path``, so
Playwright's own browser download is never needed.
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


# The pictures, in the README's order: (file name without .png, what it shows).
SHOTS = (
    ("opens", "where the experiment opens: the GenAI overview's Usage tab"),
    ("opens_quality", "the overview's Quality tab: the correctness assessment"),
    ("opens_cost", "the overview's cost panels: cost breakdown and cost over time"),
    ("runs_grouped", "the runs table grouped by the config_id tag"),
    ("scatter", "the cost vs accuracy scatter built in the chart view"),
    ("parent_table", "the parent run's comparison_table.json, viewed as a table"),
    ("traces_wrong", "a router run's Traces tab filtered to outcome = wrong"),
    ("trace", "one problem's trace"),
    ("compare_baseline", "a router run's traces compared with the LLM-only run's"),
)
# The runs a view needs, found by find_runs: the sweep's parent and one run of a strategy.
NEEDS = {
    "parent_table": ("parent",),
    "traces_wrong": ("router",),
    "trace": ("router",),
    "compare_baseline": ("router", "llm"),
}


class StepFailed(Exception):
    """A step of the tour the UI did not let the script do."""


Step = tuple[str, Callable[[], Any]]  # (what it does, in words; the action)


class Tour:
    """The browser, and the pictures taken and missed with it. Each view has a page of its own
    in a fresh context (``view``)."""

    def __init__(self, browser: Any, base: str, out: Path, failed_dir: Path) -> None:
        self.browser, self.base, self.out, self.failed_dir = browser, base, out, failed_dir
        self.page: Any = None
        self.failed: list[str] = []

    def view(self, name: str, steps: list[Step]) -> bool:
        """Open a fresh page, do the steps in order and take picture ``name``. On the first
        step that fails: no picture (an older one is deleted), the page as it was saved under
        the failed folder, the failure noted; False."""
        context = self.browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self.page = context.new_page()
        try:
            for what, action in steps:
                try:
                    action()
                    self.page.wait_for_timeout(800)
                except Exception as e:
                    self.fail(name, what, e)
                    return False
            self.shot(name)
            return True
        finally:
            context.close()

    def fail(self, name: str, what: str, error: BaseException) -> None:
        first = (str(error).splitlines() or [type(error).__name__])[0]
        log.error("%s: step failed: %s (%s)", name, what, first)
        self.failed.append(f"{name}: {what}")
        (self.out / f"{name}.png").unlink(missing_ok=True)
        self.failed_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):  # the page may be gone; the failure is reported
            self.page.screenshot(path=str(self.failed_dir / f"{name}.png"))
            log.error("%s: the page as it was: %s", name, self.failed_dir / f"{name}.png")

    def go(self, route: str) -> Step:
        """Open ``route`` and close what covers it (``dismiss``)."""

        def action() -> None:
            self.page.goto(f"{self.base}/#{route}")
            with contextlib.suppress(Exception):  # the UI polls: it may never go quiet
                self.page.wait_for_load_state("networkidle", timeout=8000)
            self.page.wait_for_timeout(SETTLE_MS)
            dismiss(self.page)

        return f"open {route} and close the assistant panel and hints", action

    def click(self, text: str, exact: bool = True) -> Callable[[], Any]:
        return lambda: self.page.get_by_text(text, exact=exact).first.click(timeout=5000)

    def shot(self, name: str) -> Path:
        self.page.wait_for_timeout(SETTLE_MS)
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path))
        small(path)
        log.info("saved %s", path)
        return path


def by_id(page: Any, component: str) -> Any:
    """The element MLflow's UI marks with ``data-component-id="<component>"``."""
    return page.locator(f'[data-component-id="{component}"]')


ASSISTANT_CLOSE = "mlflow.assistant.chat_panel.close"
HINTS = ("mlflow.detect_issues.guidance.got_it",)  # first-visit popovers, "Got it"


def dismiss(page: Any) -> None:
    """Close the first-visit hints (they cover the page and block clicks) and MLflow's
    assistant panel (it opens on a fresh visit and covers a third of the page), if shown.

    Raises:
        StepFailed: The assistant panel is still open.
    """
    for hint in HINTS:
        button = by_id(page, hint)
        if button.count() and button.first.is_visible():
            button.first.click(timeout=5000)
            page.wait_for_timeout(500)
    close = by_id(page, ASSISTANT_CLOSE)
    if close.count() and close.first.is_visible():
        close.first.click(timeout=5000)
        page.wait_for_timeout(500)
    if close.count() and close.first.is_visible():
        raise StepFailed("the assistant panel did not close")


def tour(t: Tour, experiment_id: str, runs: dict[str, str], names: dict[str, str]) -> None:
    """Every view of ``SHOTS``, in its order; a view whose runs are missing fails."""
    exp = f"/experiments/{experiment_id}"
    router = runs.get("router", "")
    views: dict[str, list[Step]] = {
        "opens": [t.go(exp)],
        "opens_quality": [t.go(exp), ("open the Quality tab", t.click("Quality"))],
        "opens_cost": [t.go(exp), ("scroll to the cost panels", lambda: cost_panels(t))],
        "runs_grouped": [
            t.go(f"{exp}/runs"),
            ("group runs by the config_id tag", lambda: group_by(t, "config_id")),
        ],
        "scatter": [
            t.go(f"{exp}/runs?compareRunsMode=CHART"),
            ("show the sweep's runs (expand its parent run)", lambda: expand_parent(t)),
            (
                "add a scatter chart: X cost_per_problem_usd, Y accuracy",
                lambda: add_scatter(t, "cost_per_problem_usd", "accuracy"),
            ),
            ("open the scatter full screen", lambda: full_screen(t, "cost_per_problem_usd vs")),
        ],
        "parent_table": [
            t.go(f"{exp}/runs/{runs.get('parent', '')}/artifacts"),
            ("open the comparison table", t.click("comparison_table.json")),
        ],
        "traces_wrong": [
            t.go(f"{exp}/runs/{router}/traces"),
            ("filter on the outcome tag", lambda: filter_tag(t, "outcome", "wrong")),
        ],
        "trace": [
            t.go(f"{exp}/runs/{router}/traces"),
            ("open the first trace", lambda: first_trace(t)),
        ],
        "compare_baseline": [
            t.go(f"{exp}/runs/{router}/traces"),
            ("compare to the LLM-only run", lambda: baseline(t, names.get("llm", ""))),
        ],
    }
    for name, _ in SHOTS:
        missing = [role for role in NEEDS.get(name, ()) if role not in runs]
        if missing:
            t.fail(name, f"find the {' and '.join(missing)} run(s) in the experiment", KeyError())
            continue
        t.view(name, views[name])


def cost_panels(t: Tour) -> None:
    """Scroll the overview's cost panels (Cost Breakdown, Cost Over Time) into view."""
    heading = t.page.get_by_text("Cost Breakdown", exact=True)
    heading.first.wait_for(timeout=10000)
    heading.first.evaluate("e => e.scrollIntoView({block: 'center'})")


def group_by(t: Tour, tag: str) -> None:
    t.page.get_by_role("button", name="Group").first.click(timeout=5000)
    t.page.get_by_text(tag, exact=True).first.click(timeout=5000)
    t.page.keyboard.press("Escape")


def expand_parent(t: Tour) -> None:
    """The runs table shows a sweep's runs folded under its parent run: unfold them, so the
    charts plot them."""
    row = t.page.locator("[role=row]").filter(has_text="sweep ").first
    row.locator("button[data-component-id*=runnamecellrenderer]").first.click(timeout=5000)
    t.page.wait_for_timeout(1500)
    if t.page.locator("[role=row]").count() < 3:
        raise StepFailed("the parent run's runs did not unfold")


def add_scatter(t: Tour, x: str, y: str) -> None:
    """Add chart -> Scatter chart, X axis ``x``, Y axis ``y``, Add chart; then find it."""
    page = t.page
    page.get_by_role("button", name="Add chart").first.click(timeout=5000)
    page.get_by_role("menuitem", name="Scatter chart").click(timeout=5000)
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=5000)
    page.wait_for_timeout(1000)  # the dialog slides in
    for index, metric in ((0, x), (1, y)):  # the metric selects: X axis, Y axis
        dialog.locator("[class*=select-selector]").nth(index).click(timeout=5000)
        page.keyboard.type(metric)
        exact = re.compile(f"^{re.escape(metric)}$")
        options = page.locator("[class*=select-item-option-content]").filter(has_text=exact)
        options.first.click(timeout=5000)
        page.wait_for_timeout(500)
    dialog.get_by_role("button", name="Add chart").click(timeout=5000)
    dialog.wait_for(state="hidden", timeout=5000)
    # Added at the end of the first section, past the charts drawn so far (a sweep's parent run
    # brings many): the search box keeps the charts of ``x``, the scatter among them.
    page.get_by_placeholder("Search metric charts").fill(x)
    page.get_by_text(f"{x} vs. {y}", exact=True).first.wait_for(timeout=10000)


def full_screen(t: Tour, title: str) -> None:
    """Open the chart whose title starts with ``title`` full screen."""
    heading = t.page.get_by_text(re.compile(f"^{re.escape(title)}"))
    card = t.page.locator("[data-testid=experiment-view-compare-runs-card]").filter(has=heading)
    card.first.locator("[data-component-id=fullscreen_button_chartcard]").click(timeout=5000)
    t.page.get_by_role("dialog").wait_for(timeout=5000)


def filter_tag(t: Tour, key: str, value: str) -> None:
    """Filters, then Field = Tags, Key = ``key``, Value = ``value``, Apply filters."""
    t.page.get_by_role("button", name="Filters").first.click(timeout=5000)
    t.page.get_by_text("Select column").first.click(timeout=5000)
    t.page.get_by_role("option", name="Tags").click(timeout=5000)
    t.page.get_by_placeholder("Key").first.fill(key)
    t.page.get_by_placeholder("Value").first.fill(value)
    t.page.get_by_role("button", name="Apply filters").first.click(timeout=5000)
    t.page.keyboard.press("Escape")  # the filter's popover would cover the list


def first_trace(t: Tour) -> None:
    t.page.get_by_text(re.compile(r"^tr-[0-9a-f]")).first.click(timeout=5000)


def baseline(t: Tour, run_name: str) -> None:
    """The run's Traces tab: "compare to" the run named ``run_name``."""
    t.page.get_by_text("baseline run").first.click(timeout=5000)
    t.page.get_by_role("option").filter(has_text=run_name).first.click(timeout=5000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--store", required=True, help="the tracking URI (sqlite:///...)")
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "shots")
    parser.add_argument(
        "--failed",
        type=Path,
        default=Path("outputs/ui-tour-failed"),
        help="where the page of a failed step is saved",
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if not Path(args.chromium).is_file():
        log.error("no Chromium at %s: apt-get install chromium (or pass --chromium)", args.chromium)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with mlflow_ui(args.store) as base, sync_playwright() as p:
        experiment_id, runs, names = find_runs(base, args.experiment)
        browser = p.chromium.launch(executable_path=args.chromium, headless=True)
        t = Tour(browser, base, args.out, args.failed)
        tour(t, experiment_id, runs, names)
        browser.close()
    if t.failed:
        log.error("%d of %d view(s) failed: %s", len(t.failed), len(SHOTS), "; ".join(t.failed))
        return 1
    log.info("all %d pictures taken into %s", len(SHOTS), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
