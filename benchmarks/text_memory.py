"""Peak resident memory of training on a large corpus (default: every ``*.py`` file of this
Python's standard library, test suites included, site-packages not: about 30 MB).

Reads the corpus into a :class:`rnnlab.text.TextSource`, trains ``--steps`` updates of the
default text model, and reports the process's peak resident set size (``ru_maxrss``) against
the corpus size and the model (parameters, gradients and Adam's two buffers), above the resident
size before the corpus is read (Python, NumPy, Numba, rnnlab and the compiled kernels, after a
warm-up on a small text), which is reported too. Usage::

    python benchmarks/text_memory.py [--steps 20] [--out benchmarks/text/memory.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time

from rnnlab.text import TextSource, stdlib_root, text_config
from rnnlab.training import Trainer, build_model, resolve_config
from rnnlab.training.build import single_thread_blas


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def peak_mb() -> float:
    """The peak resident size since the last :func:`reset_peak` (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def reset_peak() -> None:
    """Reset the kernel's peak-RSS counter (Linux >= 4.0: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def train_steps(src: TextSource, steps: int):
    c = resolve_config(text_config(steps=steps, time_budget=None), src)
    model = build_model(c, src)
    tr = Trainer(c, src, model)
    tr._start = time.perf_counter()
    with single_thread_blas():
        for _ in range(steps):
            tr.train_step()
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", default=None, help="[every *.py under the stdlib folder]")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    # The baseline is taken after a warm-up on a small text has compiled the kernels (Python,
    # NumPy, Numba and the compiled code are the same for any corpus), with the peak reset.
    root = stdlib_root()
    train_steps(TextSource(str(root / "json" / "decoder.py")), 2)
    gc.collect()
    reset_peak()
    base = rss_mb()
    t0 = time.perf_counter()
    root = stdlib_root()
    paths = (
        [a.text]
        if a.text
        else [
            str(p)
            for p in sorted(root.iterdir())
            if (p.is_dir() and p.name not in ("site-packages", "__pycache__")) or p.suffix == ".py"
        ]
    )
    src = TextSource(paths, glob="*.py", encoding_errors="replace")
    read_s = time.perf_counter() - t0
    after_read, peak_read = rss_mb(), peak_mb()
    model = train_steps(src, a.steps)
    param_mb = sum(p.nbytes for p in model.params.values()) / 2**20
    corpus_mb = src.corpus.total_bytes / 2**20
    peak = peak_mb()
    r = {
        "files": len(src.corpus.files),
        "corpus_MiB": corpus_mb,
        "characters": src.train_chars + src.val_chars,
        "vocabulary": src.vocab.size,
        "stream_MiB": src.codes.nbytes / 2**20,
        "read_s": read_s,
        "rss_before_MiB (after warm-up)": base,
        "rss_after_read_MiB": after_read,
        "peak_during_read_MiB": peak_read,
        "peak_since_before_MiB": peak,
        "peak_minus_before_MiB": peak - base,
        "model_params_MiB": param_mb,
        "model_with_grads_and_adam_MiB": 4 * param_mb,
        "limit_3x_corpus_plus_model_MiB": 3 * corpus_mb + 4 * param_mb,
    }
    print(json.dumps(r, indent=1))
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(r, fh, indent=1)


if __name__ == "__main__":
    main()
