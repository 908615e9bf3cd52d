"""Every option file of every config group composes, and builds the objects it names."""

from __future__ import annotations

import pytest

from delegate.build import Models, build_strategy
from delegate.config import parse_config
from delegate.models.text_tools import TextToolModel
from delegate.prompts import PromptSet
from delegate.strategies.router import RouterStrategy

from ..conftest import CONF_DIR
from ..helpers import DATASET_OPTIONS, resolved


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def test_groups_offer_the_documented_options() -> None:
    assert options("strategy") == ["cascade", "learned_router", "llm", "router", "slm"]
    assert {"gpt-4o", "gpt-4o-mini", "local"} <= set(options("llm"))
    assert {"qwen2.5-math-1.5b", "smollm2-135m", "vllm"} <= set(options("slm"))
    assert {"qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-vllm"} <= set(options("slm"))
    assert options("dataset") == DATASET_OPTIONS
    assert {"cot", "reference", "eager", "frugal"} <= set(options("prompt"))
    assert {"offline", "paper"} <= set(options("experiment"))


def test_defaults() -> None:
    cfg = resolved()
    assert cfg["strategy"]["name"] == "router"
    assert cfg["llm"]["model"] == "gpt-4o" and cfg["llm"]["api_key_env"] == "OPENAI_API_KEY"
    assert cfg["slm"]["model"] == "Qwen/Qwen2.5-Math-1.5B-Instruct"
    assert cfg["dataset"] == {
        "name": "gsm8k",
        "loader": "gsm8k",
        "split": "test",
        "answer_type": "number",
        "level": 2,
        "rel_tol": 0.0,
        "path": None,  # with hub=false: the packaged test split
        "hub": False,
        "revision": cfg["dataset"]["revision"],
    }
    assert cfg["seed"] == 123 and cfg["tracking"]["uri"].endswith("/mlruns/mlflow.db")


def test_the_code_model_behind_vllm_is_the_vllm_preset_with_the_coder() -> None:
    coder = resolved("slm=qwen2.5-coder-1.5b-vllm")["slm"]
    vllm = resolved("slm=vllm")["slm"]
    assert coder["model"] == "Qwen/Qwen2.5-Coder-1.5B-Instruct"
    assert coder == {**vllm, "model": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}
    assert coder["base_url"] == "http://127.0.0.1:8000/v1" and coder["api_key_env"] is None


@pytest.mark.parametrize("group", ["llm", "slm"])
def test_every_model_option_builds(group: str) -> None:
    for option in options(group):
        cfg = parse_config(resolved(f"{group}={option}"))
        models = Models.for_run(cfg)
        model = models.llm() if group == "llm" else models.slm()  # builds, loads nothing
        assert model.name
        assert models.tool_protocol(group) in ("native", "text")  # type: ignore[arg-type]
        models.price(group)  # type: ignore[arg-type]


@pytest.mark.parametrize("prompt", options("prompt"))
def test_every_prompt_set_is_complete(prompt: str) -> None:
    cfg = resolved(f"prompt={prompt}")
    prompts = PromptSet.from_config(cfg["prompt"])
    if prompt == "code":  # answers are programs in one fenced block, not boxed
        texts = (prompts.system, prompts.router_system, prompts.tool_system, prompts.review_user)
        assert all("```python" in text for text in texts)
    else:
        assert "boxed" in prompts.system and "boxed" in prompts.router_system
        assert "boxed" in prompts.tool_system and "boxed" in prompts.review_user
    assert prompts.calculator_name != prompts.tool_name


@pytest.mark.parametrize("prompt", ["eager", "frugal"])
def test_router_knob_prompt_sets_share_cot_answer_texts(prompt: str) -> None:
    """Their LLM-only reference is the very configuration of cot's."""
    from delegate.build import run_identity
    from delegate.data import load_problems

    cot, knob = resolved("prompt=cot", "dataset=mini"), resolved(f"prompt={prompt}", "dataset=mini")
    assert (knob["prompt"]["system"], knob["prompt"]["user"]) == (
        cot["prompt"]["system"],
        cot["prompt"]["user"],
    )
    assert knob["prompt"]["tool_guidance"] != cot["prompt"]["tool_guidance"]
    problems = load_problems(cot["dataset"])
    typed_cot, typed_knob = parse_config(cot), parse_config(knob)
    cot_models, knob_models = Models.for_run(typed_cot), Models.for_run(typed_knob)
    assert run_identity(typed_knob, knob_models, problems, "llm") == run_identity(
        typed_cot, cot_models, problems, "llm"
    )
    assert run_identity(typed_knob, knob_models, problems) != run_identity(
        typed_cot, cot_models, problems
    )


@pytest.mark.parametrize("strategy", options("strategy"))
@pytest.mark.parametrize("experiment", [None, *options("experiment")])
def test_every_strategy_builds_under_every_experiment(
    strategy: str, experiment: str | None
) -> None:
    overrides = [f"strategy={strategy}"] + ([f"experiment={experiment}"] if experiment else [])
    if strategy == "learned_router":  # it names the runs it learns from (read when prepared)
        overrides.append("learned_router.runs=[run-a,run-b]")
    cfg = parse_config(resolved(*overrides))
    models = Models.for_run(cfg)
    built = build_strategy(cfg, models)
    assert built.name == strategy
    both = {"llm", "slm"}
    expected = {"llm": {"llm"}, "slm": {"slm"}, "router": both, "cascade": both}.get(strategy, both)
    assert set(models.built()) == expected


def test_offline_preset_is_offline_and_forces_delegation() -> None:
    cfg = resolved("experiment=offline", "strategy=router")
    assert cfg["llm"]["backend"] == cfg["slm"]["backend"] == "transformers"
    assert cfg["dataset"]["name"] == "mini"
    typed = parse_config(cfg)
    router = build_strategy(typed, Models.for_run(typed))
    assert isinstance(router, RouterStrategy)
    assert router.tool_choice == "required"
    # The text protocol, wrapped by the model layer (the outer wrappers count and trace calls).
    chain, model = [], router.llm
    while model is not None:
        chain.append(model)
        model = getattr(model, "inner", None)
    assert any(isinstance(m, TextToolModel) for m in chain)


def test_paper_preset_matches_the_reference_setting() -> None:
    cfg = resolved("experiment=paper")
    assert cfg["llm"]["model"] == "gpt-4o"
    assert cfg["slm"]["model"] == "Qwen/Qwen2.5-Math-1.5B-Instruct"
    assert (cfg["dataset"]["name"], cfg["dataset"]["split"], cfg["seed"]) == ("gsm8k", "test", 123)


def test_shared_generation_settings_reach_both_models() -> None:
    cfg = resolved("temperature=0.3", "max_tokens=77")
    for role in ("llm", "slm"):
        assert (cfg[role]["temperature"], cfg[role]["max_tokens"]) == (0.3, 77)


def test_tracking_uri_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert resolved()["tracking"]["uri"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("launcher", "target", "setting"),
    [
        ("parallel", "hydra_joblib_launcher.joblib_launcher.JoblibLauncher", ("n_jobs", 2)),
        ("slurm", "hydra_submitit_launcher.submitit_launcher.SlurmLauncher", ("gpus_per_node", 1)),
    ],
)
def test_every_launcher_option_composes_with_the_sweep_callback(
    launcher: str, target: str, setting: tuple[str, int]
) -> None:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    assert sorted(options("hydra/launcher")) == ["parallel", "slurm"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF_DIR)):
        cfg = compose("config", [f"hydra/launcher={launcher}"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_ == f"hydra_plugins.{target}"
    assert cfg.hydra.launcher[setting[0]] == setting[1]
    assert cfg.hydra.callbacks.sweep._target_ == "delegate.sweep.SweepCallback"


@pytest.mark.parametrize("dataset", [d for d in options("dataset") if d != "jsonl"])
def test_every_dataset_option_loads_and_names_its_grader(dataset: str) -> None:
    from delegate.data import draw_sample, load_problems
    from delegate.scoring import ANSWER_TYPES

    section = resolved(f"dataset={dataset}")["dataset"]
    assert section["name"] == section["loader"] == dataset
    graders = ANSWER_TYPES
    assert "code" in graders  # delegate.scoring.code, registered with the others
    assert section["answer_type"] in (*graders, "by_source")
    problems = draw_sample(load_problems(section), 10, seed=1)
    assert len(problems) == 10
    assert {p.answer_type for p in problems} <= set(graders)
    assert all(p.source and p.level is not None for p in problems)


@pytest.mark.parametrize("source", ["svamp", "gsm8k", "gsm-hard", "math500"])
def test_dataset_files_state_the_defaults_the_mixture_uses(source: str) -> None:
    from delegate.data import SOURCES

    section = resolved(f"dataset={source}")["dataset"]
    expected = SOURCES[source]
    assert section["answer_type"] == expected.answer_type
    assert section["level"] == expected.level
    assert section.get("rel_tol", 0.0) == expected.rel_tol


@pytest.mark.parametrize("prompt", options("prompt"))
def test_no_prompt_set_asks_for_a_number_only(prompt: str) -> None:
    # MATH answers are expressions, intervals or words: every prompt must allow them.
    text = " ".join(str(v) for v in resolved(f"prompt={prompt}")["prompt"].values()).lower()
    assert "single number" not in text and "numeric answer" not in text


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("prompt.tool_name='ask the small model'", "prompt.tool_name"),
        ("prompt.calculator_name=" + "x" * 65, "prompt.calculator_name"),
        ("prompt.calculator_name=ask_small_model", "prompt.calculator_name"),
    ],
)
def test_tool_names_the_apis_refuse_are_config_errors(override: str, key: str) -> None:
    from delegate.errors import ConfigError

    with pytest.raises(ConfigError, match=f"<{key}>"):
        PromptSet.from_config(resolved(override)["prompt"])


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("cascade.threshold=nan", "cascade.threshold"),
        ("cascade.temperature=nan", "cascade.temperature"),
        ("cascade.temperature=2.5", "cascade.temperature"),
        ("cascade.samples=0", "cascade.samples"),
        ("cascade.samples=1000", "cascade.samples"),
        ("cascade.escalate=never", "cascade.escalate"),
        ("cascade.confidence=luck", "cascade.confidence"),
        ("router.max_tool_calls=-1", "router.max_tool_calls"),
        ("router.tool_choice=always", "router.tool_choice"),
    ],
)
def test_strategy_settings_out_of_range_name_their_key(override: str, key: str) -> None:
    from delegate.errors import ConfigError

    strategy = key.split(".")[0]
    cfg = parse_config(resolved(f"strategy={strategy}", "llm=gpt-4o", "slm=vllm", override))
    with pytest.raises(ConfigError, match=f"<{key}>"):
        build_strategy(cfg, Models.for_run(cfg))
