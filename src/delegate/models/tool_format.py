"""The text tool-call format for models without native tool calling.

A model calls a tool by writing one block per call::

    <tool_call>
    {"name": "ask_small_model", "arguments": {"question": "What is 12 * 7?"}}
    </tool_call>

and receives each result in the next user turn as ``<tool_result>...</tool_result>``. It is the
format Qwen2.5's chat template uses for native tools, so the same parser serves both.

The quoting rule: a block is a call only where ``<tool_call>`` is followed (after white space) by
the ``{`` of its JSON; the tag anywhere else (``a <tool_call> block``) is prose, and the text
around it stays the answer. Text the framework inserts into the conversation (questions, tool
results, the model's earlier prose) cannot open or close a block: ``quote`` writes the protocol's
tags in it as ``&lt;tool_call&gt;``..., and inside a call's JSON the ``<`` and ``>`` of a tag are
JSON escapes (``\\u003c``), which decode to the same arguments.
"""

from __future__ import annotations

import json
import re
from typing import Any

from delegate.errors import ConfigError
from delegate.models.base import ToolCall

OPEN, CLOSE = "<tool_call>", "</tool_call>"
_DECODER = json.JSONDecoder()
# A call: the opening tag, its JSON object, up to the closing tag or the end of the text (the
# closing tag is a stop string, so a call in progress ends the text).
_BLOCK_RE = re.compile(re.escape(OPEN) + r"(\s*\{.*?)(?:" + re.escape(CLOSE) + r"|$)", re.DOTALL)
# The protocol's tags as a model might read them, in any case and spacing.
_TAG_RE = re.compile(r"<(\s*/?\s*tool_(?:call|result)\s*)>", re.IGNORECASE)


def quote(text: str) -> str:
    """``text`` to insert into the conversation, with the protocol's tags neutralised."""
    return _TAG_RE.sub(r"&lt;\1&gt;", text)


def _quote_json(text: str) -> str:
    """JSON text with every protocol tag inside its strings written with JSON escapes."""
    return _TAG_RE.sub(lambda m: f"\\u003c{m.group(1)}\\u003e", text)


def parse_tool_calls(text: str) -> tuple[str, tuple[ToolCall, ...]]:
    """Split model output into its prose and its tool calls.

    A block whose JSON cannot be read still yields a ``ToolCall`` (name ``""`` when unknown, the raw
    block as ``arguments``), so the caller can record the malformed call instead of losing it.
    """
    calls: list[ToolCall] = []
    for i, m in enumerate(_BLOCK_RE.finditer(text)):
        body = m.group(1).strip()
        name, arguments = "", body
        try:  # the first JSON value in the block; small models often keep writing after it
            obj, _ = _DECODER.raw_decode(body)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            name = obj["name"]
            args = obj.get("arguments", {})
            arguments = args if isinstance(args, str) else json.dumps(args)
        calls.append(ToolCall(id=f"call_{i}", name=name, arguments=arguments))
    prose = _BLOCK_RE.sub("", text).strip()
    return prose, tuple(calls)


def finish_reason(reason: str | None, calls: tuple[ToolCall, ...]) -> str | None:
    """Why a text-format turn ended: ``tool_calls`` when it holds a call that was not cut off."""
    if calls and reason != "length":
        return "tool_calls"
    return reason


def local_tools(
    tools: list[dict[str, Any]] | None, tool_choice: str | dict[str, Any] | None
) -> list[dict[str, Any]] | None:
    """The tools an in-process model's chat template should render, or None.

    Such a model can only be offered tools through its template; forcing a call needs the text
    format's forced prefix instead, so a forced ``tool_choice`` is a configuration error.
    """
    if tools and tool_choice not in (None, "auto", "none"):
        raise ConfigError(
            "local models cannot force a tool call natively; use tool_protocol=text "
            "<llm.tool_protocol>"
        )
    return tools if tool_choice != "none" else None


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """Instructions that teach the text format, to append to a system prompt."""
    specs = "\n".join(json.dumps(t["function"]) for t in tools)
    return (
        "You can call these tools:\n"
        f"{specs}\n"
        "To call a tool, write exactly one block and stop:\n"
        f'{OPEN}\n{{"name": "<tool name>", "arguments": {{<arguments as JSON>}}}}\n{CLOSE}\n'
        "The result comes back as <tool_result>...</tool_result>. "
        "When you know the answer, reply without a tool call."
    )


def forced_prefix(tool_name: str, argument: str) -> str:
    """The start of a call to ``tool_name``, up to the opening quote of ``argument``'s value.

    A forced call in the text format works like constrained decoding: the model continues this
    prefix, writing only the argument's value; generation stops at the closing quote
    (``FORCED_STOP``) and ``close_forced`` writes the rest of the call.
    """
    return f'{OPEN}\n{{"name": "{tool_name}", "arguments": {{"{argument}": "'


# The value ends at its closing quote, or where the model closes the block without one.
FORCED_STOP = ['"}', '",', '"\n', CLOSE]


def close_forced(prefixed_text: str, tool_name: str, argument: str) -> str:
    """The complete call block for a forced call, from the prefix plus what the model wrote.

    The value is kept verbatim (LaTeX such as ``\\frac`` included) and re-encoded with
    ``json.dumps``, so a backslash or control character in it cannot make the call unreadable.
    Only ``\\"`` is undone: it is how the model writes a quote without ending the value.
    """
    value = prefixed_text.removeprefix(forced_prefix(tool_name, argument))
    value = value.split(CLOSE, 1)[0].replace('\\"', '"')
    call = {"name": tool_name, "arguments": {argument: value}}
    return f"{OPEN}\n{json.dumps(call)}\n{CLOSE}"


# Generation stops at the end of a call, or where a model starts inventing the tool's result.
STOP = [CLOSE, "<tool_result>"]


def format_call(function: dict[str, str]) -> str:
    """A native call (``name`` and ``arguments`` as JSON text) as a text block; arguments that do
    not parse are shown as the model wrote them."""
    try:
        arguments: Any = json.loads(function["arguments"])
    except json.JSONDecodeError:
        arguments = function["arguments"]
    call = _quote_json(json.dumps({"name": function["name"], "arguments": arguments}))
    return f"{OPEN}\n{call}\n{CLOSE}"


def format_result(content: str) -> str:
    """A tool's result as the user turn shows it; tags in ``content`` are quoted."""
    return f"<tool_result>\n{quote(content)}\n</tool_result>"
