"""Prompt sets: every text a run sends to a model, from one YAML file in ``conf/prompt/``.

Templates are plain text with a few named placeholders: ``{question}`` in the user templates,
``{tools}`` in the router's system prompt (the offered tools' guidance sentences), ``{draft}`` in
the cascade's review template. Nothing else is substituted, so LaTeX braces such as
``\\boxed{}`` need no escaping.

A prompt set may also say where its answers stand when there is no ``\\boxed{}``:
``answer_markers``, the list of phrases (and ``json:<field>`` entries) the graders try in order;
null or absent means ``delegate.scoring.DEFAULT_MARKERS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from delegate.errors import ConfigError
from delegate.scoring.markers import DEFAULT_MARKERS, check_markers

PLACEHOLDER = "{question}"
TOOLS_PLACEHOLDER = "{tools}"
DRAFT_PLACEHOLDER = "{draft}"
# The placeholders each template must hold.
_REQUIRED = {
    "user": (PLACEHOLDER,),
    "tool_user": (PLACEHOLDER,),
    "router_system": (TOOLS_PLACEHOLDER,),
    "review_user": (PLACEHOLDER, DRAFT_PLACEHOLDER),
}
_REVIEW_FIELDS = re.compile(r"\{(question|draft)\}")


# What the APIs accept as a function's name (OpenAI's rule); a space would fail every call.
_TOOL_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class PromptSet:
    """The system/user templates for all strategies, the router's tools and the small model's
    brief.

    ``system``/``user`` are shared by ``llm``, ``slm`` and ``cascade``: all answer under the same
    instructions; the router's system prompt carries the same answer-format instruction, with
    ``{tools}`` where the offered tools' ``*_guidance`` sentences go, so it never promises a tool
    that is not offered. ``review_user`` is the cascade's ``escalate=review`` request: the
    problem and the small model's draft solution, for the large model to check.
    """

    name: str
    system: str
    user: str
    router_system: str
    tool_name: str
    tool_description: str
    tool_argument_description: str
    tool_guidance: str
    tool_system: str
    tool_user: str
    calculator_name: str
    calculator_description: str
    calculator_argument_description: str
    calculator_guidance: str
    review_user: str
    answer_markers: tuple[str, ...] | None = None  # None: the graders' default markers

    @property
    def markers(self) -> tuple[str, ...]:
        """The answer markers the graders try, in order, for answers of this prompt set."""
        return DEFAULT_MARKERS if self.answer_markers is None else self.answer_markers

    @classmethod
    def from_config(cls, cfg: Any) -> PromptSet:
        values = dict(cfg)
        names = {f.name for f in fields(cls)}
        optional = {"answer_markers"}
        missing, unknown = names - optional - set(values), set(values) - names
        if missing or unknown:
            raise ConfigError(
                f"prompt set {values.get('name')!r}: missing keys {sorted(missing)}, "
                f"unknown keys {sorted(unknown)} <prompt>"
            )
        for key, placeholders in _REQUIRED.items():
            for placeholder in placeholders:
                if placeholder not in str(values[key]):
                    raise ConfigError(
                        f"the template needs a {placeholder} placeholder <prompt.{key}>"
                    )
        for key in ("tool_name", "calculator_name"):
            if not _TOOL_NAME_RE.fullmatch(str(values[key])):
                raise ConfigError(
                    f"a tool name is 1 to 64 letters, digits, _ or -, got {values[key]!r} "
                    f"<prompt.{key}>"
                )
        if values["tool_name"] == values["calculator_name"]:
            raise ConfigError(
                f"the two tools share the name {values['tool_name']!r} <prompt.calculator_name>"
            )
        markers = values.pop("answer_markers", None)
        return cls(**{k: str(v) for k, v in values.items()}, answer_markers=_markers(markers))

    def router_system_for(self, guidance: Iterable[str]) -> str:
        """The router's system prompt offering tools with these guidance sentences, one a line."""
        return self.router_system.replace(TOOLS_PLACEHOLDER, "\n".join(g.strip() for g in guidance))

    def review_messages(self, question: str, draft: str) -> list[dict[str, Any]]:
        """The large model's request to check the small model's ``draft`` solution."""
        # One pass, so a question that contains "{draft}" is not substituted into.
        values = {"question": question, "draft": draft.strip()}
        user = _REVIEW_FIELDS.sub(lambda m: values[m.group(1)], self.review_user)
        return [
            {"role": "system", "content": self.system.strip()},
            {"role": "user", "content": user.strip()},
        ]

    def messages(self, system: str, user_template: str, question: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": system.strip()},
            {"role": "user", "content": user_template.replace(PLACEHOLDER, question).strip()},
        ]

    def tool_schema(self) -> dict[str, Any]:
        """The router's one tool, as an OpenAI function schema."""
        return {
            "type": "function",
            "function": {
                "name": self.tool_name,
                "description": self.tool_description.strip(),
                "parameters": {
                    "type": "object",
                    "properties": {
                        "question": {
                            "type": "string",
                            "description": self.tool_argument_description.strip(),
                        }
                    },
                    "required": ["question"],
                },
            },
        }


def _markers(value: Any) -> tuple[str, ...] | None:
    """``answer_markers`` as a tuple of phrases, None for the default; ConfigError if it is not
    a list of non-empty strings."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigError(
            f"answer_markers must be a list of phrases, got {value!r} <prompt.answer_markers>"
        )
    try:
        return check_markers(list(value))
    except ValueError as e:
        raise ConfigError(f"{e} <prompt.answer_markers>") from None
