"""Character-level language models on real text (after Karpathy's char-rnn).

- :class:`Vocabulary`: characters <-> indices, index 0 reserved for unseen characters;
- :class:`TextSource`: files, folders or ``"stdlib"`` as a stateful training source (truncated
  BPTT over ``B`` streams with the hidden state carried between chunks), the corpus pinned by a
  hash in the run's config;
- :func:`sample`: temperature / top-k / greedy generation after a prime, reproducible by seed;
- :func:`evaluate_text`: nats/char, bits/char and perplexity of a model on any text;
- :mod:`rnnlab.text.inspect`: cell activations, interpretable-cell search, gate saturation.

``rnnlab train --text PATH``, ``rnnlab sample RUN``, ``rnnlab evaluate RUN --text PATH`` and
``rnnlab inspect RUN --text PATH`` are the command-line faces of these.
"""

from .corpus import STDLIB, CorpusFiles, find_files, stdlib_root
from .run import evaluate_text, is_text_run, load_text_run, text_callbacks, text_config, train_text
from .sampling import sample
from .source import TextSource, one_hot, score, text_metrics
from .vocab import UNKNOWN, VOCAB_FILE, Vocabulary

__all__ = [
    "STDLIB",
    "UNKNOWN",
    "VOCAB_FILE",
    "CorpusFiles",
    "TextSource",
    "Vocabulary",
    "evaluate_text",
    "find_files",
    "is_text_run",
    "load_text_run",
    "one_hot",
    "sample",
    "score",
    "stdlib_root",
    "text_callbacks",
    "text_config",
    "text_metrics",
    "train_text",
]
