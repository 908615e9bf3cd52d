"""The in-place key/value cache holds exactly what transformers' concatenating cache holds."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers.cache_utils import DynamicLayer  # noqa: E402

from delegate.models.kv_cache import SPARE_POSITIONS, GrowingLayer  # noqa: E402


def states(rows: int, positions: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(rows, 3, positions, 8), torch.randn(rows, 3, positions, 8)


def test_growing_layer_matches_dynamic_layer_through_growth_and_dropped_rows() -> None:
    torch.manual_seed(0)
    growing, reference = GrowingLayer(), DynamicLayer()
    prompt = states(4, 5)
    for layer in (growing, reference):
        layer.update(*prompt)
    for step in range(2 * SPARE_POSITIONS + 3):  # grows twice
        if step == 20:  # rows 1 and 3 finish
            keep = torch.tensor([0, 2])
            growing.batch_select_indices(keep)
            reference.batch_select_indices(keep)
        new = states(2 if step >= 20 else 4, 1)
        keys, values = growing.update(*new)
        ref_keys, ref_values = reference.update(*new)
        assert torch.equal(keys, ref_keys) and torch.equal(values, ref_values)
        assert growing.get_seq_length() == reference.get_seq_length() == 5 + step + 1
    assert growing.buffers is not None
    assert growing.buffers[0].shape[-2] < growing.get_seq_length() + SPARE_POSITIONS + 1


def test_growing_layer_refuses_what_would_desynchronise_its_buffers() -> None:
    layer = GrowingLayer()
    layer.update(*states(2, 3))
    with pytest.raises(NotImplementedError):
        layer.crop(-1)
    with pytest.raises(NotImplementedError):
        layer.reorder_cache(torch.tensor([1, 0]))
