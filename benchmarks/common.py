"""Shared timing helpers for the benchmark programs.

``measure`` runs a callable with warm-up and repeats it; ``measure_rounds`` does the same for several
implementations, in rounds so that machine drift hits them alike; ``print_table`` lays out several measurements side by
side with ratios to a baseline row. Peers (HIPS autograd, PyTorch, JAX) are optional: ``try_import`` returns
None and prints a note when one is missing, so a benchmark never crashes for lack of a peer.
"""
import gc
import importlib
import importlib.metadata
import os
import platform
import statistics
import time
from dataclasses import dataclass


@dataclass
class Timing:
    """Seconds per call of one implementation: median, quartiles, extremes, and how many repeats."""

    name: str
    median: float
    q1: float
    q3: float
    min: float
    max: float
    repeats: int
    faults: float = float("nan")   # minor page faults per call (fresh memory pages touched), where measurable


def measure(name, fn, *, repeats=30, warmup=3, number=1):
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeats`` samples of ``number`` calls each.

    Each sample is the mean over its ``number`` calls (use ``number > 1`` for calls of a few microseconds).
    The garbage collector is run before timing and left enabled, as a user's program would have it.

    >>> t = measure("noop", lambda: None, repeats=5, warmup=1)
    >>> t.repeats
    5
    """
    for _ in range(warmup):
        fn()
    gc.collect()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return _summarize(name, samples)


def measure_rounds(fns, *, repeats=30, rounds=3, warmup=3, number=1, pause=0.2):
    """Time several implementations in ``rounds`` rounds; in each, every implementation gets one contiguous block.

    ``fns`` maps a name to a callable; each gets ``repeats`` samples in all (split over the rounds). Rounds
    spread slow drifts of the machine over every implementation alike. Blocks (rather than alternating single
    calls) and a short ``pause`` between blocks keep one peer's worker threads, still spinning after its
    last call, from competing with the next implementation on a small machine.
    Returns a list of ``Timing`` in the order of ``fns``.
    """
    samples = {name: [] for name in fns}
    faults = {name: 0 for name in fns}
    per_round = [repeats // rounds + (1 if r < repeats % rounds else 0) for r in range(rounds)]
    for r, n in enumerate(per_round):
        for name, fn in fns.items():
            time.sleep(pause)
            for _ in range(warmup if r == 0 else 1):
                fn()
            gc.collect()
            f0 = _minor_faults()
            for _ in range(n):
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                samples[name].append((time.perf_counter() - t0) / number)
            faults[name] += _minor_faults() - f0
    total = sum(per_round) * number
    return [_summarize(name, s, faults[name] / total) for name, s in samples.items()]


def _minor_faults():
    """Minor page faults of this process so far (each one is a fresh memory page touched); NaN if unknown."""
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    except (ImportError, OSError):
        return float("nan")


def _summarize(name, samples, faults=float("nan")):
    q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (samples[0],) * 3
    return Timing(name, statistics.median(samples), q1, q3, min(samples), max(samples), len(samples), faults)


def _fmt(seconds, unit, scale):
    return f"{seconds * scale:10.2f} {unit}"


def print_table(title, timings, *, baseline, unit="ms", per=1, faults=False):
    """Print ``timings`` side by side: median, interquartile range, min, and ratio of medians to ``baseline``.

    ``per`` divides every figure (e.g. the number of ops in a chain, to report time per op). With ``faults``,
    a column gives the minor page faults per call (memory-bound workloads pay for every fresh page).
    """
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit] / per
    base = next((t for t in timings if t.name == baseline), None)
    print(f"\n{title}")
    header = f"  {'implementation':<28}{'median':>13}{'IQR (q1..q3)':>27}{'min':>13}{'ratio':>9}"
    if faults:
        header += f"{'faults/call':>13}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    for t in timings:
        ratio = f"{t.median / base.median:8.2f}x" if base is not None else "       -"
        iqr = f"{t.q1 * scale:.2f}..{t.q3 * scale:.2f} {unit}"
        row = f"  {t.name:<28}{_fmt(t.median, unit, scale)}{iqr:>27}{_fmt(t.min, unit, scale)}{ratio}"
        if faults:
            row += f"{t.faults:13.0f}"
        print(row)
    if base is not None:
        print(f"  (ratio = median / median of '{baseline}'; {timings[0].repeats} repeats each, in rounds)")


def try_import(module, note):
    """Import an optional peer; print ``note`` and return None when it is not installed."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # ImportError, or a broken install raising something else
        print(f"[skip] {module} not available ({type(e).__name__}: {e}); {note}")
        return None


def _version(name, mod):
    try:
        return importlib.metadata.version(name)
    except Exception:
        return getattr(mod, "__version__", "?")


def load_note():
    """The 1-minute load average, with a warning when something else is competing for the CPUs."""
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "load average unknown"
    busy = load > (os.cpu_count() or 1) - 0.5  # this benchmark itself keeps one CPU busy
    return f"1-min load average {load:.2f}" + (" -- WARNING: the machine is busy, timings are noisy" if busy else "")


def environment_summary(peers):
    """A few lines naming the interpreter, NumPy and each peer's version (and torch's thread count)."""
    import numpy as np
    lines = [f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs), "
             f"NumPy {np.__version__}"]
    for name, mod in peers.items():
        if mod is None:
            lines.append(f"{name}: not installed")
            continue
        extra = ""
        if name == "torch":
            extra = f" (CPU, {mod.get_num_threads()} intra-op threads, the default)"
        lines.append(f"{name} {_version(name, mod)}{extra}")
    return "\n".join(lines)
