"""delegate: measure what a large model saves, and loses, by delegating to a small model.

The package is laid out one concept per module:

- ``data``: problems, loaders (GSM8K, the packaged ``mini`` set) and seeded sampling.
- ``models``: the chat-model protocol and its backends (OpenAI-compatible HTTP, transformers).
- ``strategies``: ``llm`` and ``slm`` (one model answers alone), ``router`` (delegation).
- ``scoring``: answer extraction and grading.
- ``accounting``: token usage and prices turned into dollars.
- ``metrics``: per-problem records aggregated into run metrics.
- ``tracking``: the MLflow run (params, tags, metrics, artifacts).
- ``build``: the one place that turns a Hydra config into objects.
- ``runner``: the problem loop.
"""

__version__ = "0.1.0"
