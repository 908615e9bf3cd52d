"""A key/value cache that grows in place, for the decode loop in ``hf_generation``.

transformers' ``DynamicLayer`` appends each new position with ``torch.cat``, copying the whole
cache at every step: on 2 CPU cores that was 15% of an 8-row decode step of the offline model
(``torch.profiler``, 20 steps). Here each layer keeps buffers with spare positions, a step writes
its position into them, and the model sees views of the filled part. Imported only when a local
model generates, so API-only runs never load torch.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

SPARE_POSITIONS = 64  # room added at each growth: one copy of the cache per 64 decode steps


class GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` over preallocated buffers: ``keys``/``values`` are views of them.

    Supports what the decode loop uses (``update``, ``batch_select_indices``); cropping and beam
    reordering would desynchronise the views from the buffers, so they are refused.
    """

    is_croppable = False

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self.buffers: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.get_seq_length()
        end = length + key_states.shape[-2]
        if self.buffers is None or end > self.buffers[0].shape[-2]:
            old_keys, old_values = self.buffers or (None, None)
            self.buffers = (
                self._grown(old_keys, key_states, length, end),
                self._grown(old_values, value_states, length, end),
            )
        keys, values = self.buffers
        keys[..., length:end, :] = key_states
        values[..., length:end, :] = value_states
        self.keys, self.values = keys[..., :end, :], values[..., :end, :]
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.buffers is not None:
            end = self.get_seq_length()
            keys, values = self.buffers = (self.buffers[0][indices], self.buffers[1][indices])
            self.keys, self.values = keys[..., :end, :], values[..., :end, :]

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("GrowingLayer does not crop")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("GrowingLayer does not repeat rows")

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        raise NotImplementedError("GrowingLayer does not reorder rows")

    @staticmethod
    def _grown(old: torch.Tensor | None, new: torch.Tensor, length: int, end: int) -> torch.Tensor:
        """Room for ``end`` positions and spare, holding the first ``length`` of ``old``."""
        buffer = new.new_empty((*new.shape[:-2], end + SPARE_POSITIONS, new.shape[-1]))
        if old is not None:
            buffer[..., :length, :] = old[..., :length, :]
        return buffer


def growing_cache(model: Any) -> DynamicCache:
    """The cache ``model`` would build, with its full-attention layers growing in place (sliding
    window and other special layers are kept as transformers builds them)."""
    cache = DynamicCache(config=model.config)
    cache.layers = [
        GrowingLayer() if type(layer) is DynamicLayer else layer for layer in cache.layers
    ]
    return cache
