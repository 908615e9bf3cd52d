"""Per-call sampling options (``temperature``, ``seed``) reach each backend's sampling settings."""

from __future__ import annotations

from delegate.models.hf_generation import Request
from delegate.models.llama_cpp_chat import LlamaCppChatModel


def test_llama_cpp_uses_a_call_s_own_temperature_and_seed() -> None:
    model = LlamaCppChatModel("/nowhere/model.gguf", temperature=0.0, seed=3)  # loads nothing
    assert model._sampling(None, None) == {"temperature": 0.0, "top_k": 1}
    assert model._sampling(0.8, 42) == {"temperature": 0.8, "seed": 42}
    assert model._sampling(0.8, None) == {"temperature": 0.8, "seed": 3}  # the model's own seed
    sampling = LlamaCppChatModel("/nowhere/model.gguf", temperature=0.5, seed=3)
    assert sampling._sampling(0.0, 42) == {"temperature": 0.0, "top_k": 1}  # a greedy call


class _Encoded(dict):  # type: ignore[type-arg]
    def to(self, device: str) -> _Encoded:
        return self


class _Tokenizer:
    """Just enough of a tokenizer for ``generate_batch``: three prompt tokens a row."""

    pad_token_id = 0

    def __call__(self, prompts: list[str], **kwargs: object) -> _Encoded:
        import torch

        ids = torch.ones((len(prompts), 3), dtype=torch.long)
        return _Encoded(input_ids=ids, attention_mask=torch.ones_like(ids))

    def decode(self, tokens: list[int], skip_special_tokens: bool = True) -> str:
        return " ".join(map(str, tokens))


class _RandomModel:
    """Samples every new token from torch's global generator, as ``generate`` does."""

    device = "cpu"

    def generate(self, input_ids: object, attention_mask: object, **settings: object) -> object:
        import torch

        rows, steps = input_ids.shape[0], int(settings["max_new_tokens"])  # type: ignore[attr-defined, call-overload]
        return torch.cat([input_ids, torch.randint(1, 10**6, (rows, steps))], dim=1)  # type: ignore[list-item]


def test_a_seeded_transformers_request_draws_the_same_tokens_whatever_ran_before_or_beside() -> (
    None
):
    import torch

    from delegate.models.hf_generation import generate_batch

    def draw(*requests: Request) -> list[str]:
        return [
            r[0] for r in generate_batch(_Tokenizer(), _RandomModel(), frozenset(), list(requests))
        ]

    alone = draw(Request("a", 6, 0.7, (), 11))
    torch.rand(5)  # other draws in between
    beside = draw(Request("b", 6, 0.7, (), 11), Request("a", 6, 0.7, (), 11))
    assert beside == alone * 2  # a batch of one seed: each row as if alone
    assert draw(Request("a", 6, 0.7, (), 12)) != alone  # another seed, other tokens
