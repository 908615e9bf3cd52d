"""Prompt sets: every text a run sends to a model, from one YAML file in ``conf/prompt/``.

Templates are plain text with a single placeholder, ``{question}``; nothing else is substituted,
so LaTeX braces such as ``\\boxed{}`` need no escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from delegate.errors import ConfigError

PLACEHOLDER = "{question}"


@dataclass(frozen=True)
class PromptSet:
    """The system/user templates for all strategies, the router's tool and the small model's brief.

    ``system``/``user`` are shared by ``llm`` and ``slm``: both answer under the same instructions;
    the router's system prompt carries the same answer-format instruction.
    """

    name: str
    system: str
    user: str
    router_system: str
    tool_name: str
    tool_description: str
    tool_argument_description: str
    tool_system: str
    tool_user: str

    @classmethod
    def from_config(cls, cfg: Any) -> PromptSet:
        values = dict(cfg)
        names = {f.name for f in fields(cls)}
        missing, unknown = names - set(values), set(values) - names
        if missing or unknown:
            raise ConfigError(
                f"prompt set {values.get('name')!r}: missing keys {sorted(missing)}, "
                f"unknown keys {sorted(unknown)} <prompt>"
            )
        for key in ("user", "tool_user"):
            if PLACEHOLDER not in values[key]:
                raise ConfigError(f"the template needs a {PLACEHOLDER} placeholder <prompt.{key}>")
        return cls(**{k: str(v) for k, v in values.items()})

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
