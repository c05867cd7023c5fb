"""The benchmark suite: every benchmark program, side by side with the installed peers, into docs/benchmarks.md.

``python -m benchmarks`` runs each program (``benchmarks/engine.py``, ``transforms.py``, ``tensor.py`` and
``nn.py`` when present) in its own fresh interpreter, collects every table it prints (each program lays out its
timings with ``benchmarks.common.print_table``; in the child process that function is wrapped so the numbers are
also written to a JSON file), shows the programs' own output as it runs, and writes ``docs/benchmarks.md``: one
markdown table per workload (median, interquartile range, min, ratio to the workload's baseline), the programs'
verdict lines ("target ... MET"), the machine, the peers' versions and the date.

NOTE: [one process per program]
The programs configure their peers globally (JAX's x64 mode, PyTorch's default dtype and thread count, glibc's
allocator thresholds in nn.py), and a process's allocator state changes timings (NOTE: [allocator state] in
engine.py). Each program therefore runs in a fresh interpreter, exactly as when it is run on its own.

Options: ``--quick`` (fewer repeats: a smoke run, noisy figures), ``--only engine,nn`` (a subset),
``--output PATH`` (default ``docs/benchmarks.md``), ``--no-write``.
"""
import argparse
import dataclasses
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (short name, module, what it measures)
PROGRAMS = [
    ("engine", "benchmarks.engine", "Engine: recording overhead and one large elementwise function"),
    ("transforms", "benchmarks.transforms", "Transforms: per-example gradients, Jacobians, Hessian-vector products"),
    ("tensor", "benchmarks.tensor", "Tensor face: eager recording + backward, and the no-grad fast path"),
    ("nn", "benchmarks.nn", "chainrule.nn: training steps of an MLP, a CNN and a transformer block"),
]

PEERS = [("autograd", "HIPS autograd"), ("torch", "PyTorch"), ("jax", "JAX"), ("jaxlib", "jaxlib")]


# ---------------------------------------------------------------------------------------------------------
# Child side: run one program, record its tables
# ---------------------------------------------------------------------------------------------------------

def _child(module, json_path, argv):
    """Run ``module.main(argv)`` with ``print_table`` recording every table into ``json_path``."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from benchmarks import common
    tables = []
    original = common.print_table

    def recording_print_table(title, timings, *, baseline, unit="ms", per=1, faults=False):
        tables.append({"title": title, "baseline": baseline, "unit": unit, "per": per, "faults": faults,
                       "timings": [dataclasses.asdict(t) for t in timings]})
        return original(title, timings, baseline=baseline, unit=unit, per=per, faults=faults)

    common.print_table = recording_print_table      # before the program imports it by name
    error = None
    try:
        sys.argv = [module] + list(argv)           # nn.py reads its options from sys.argv at import time
        mod = __import__(module, fromlist=["main"])
        mod.print_table = recording_print_table
        if module == "benchmarks.engine" and hasattr(mod, "_large_in_fresh_process"):
            mod._large_in_fresh_process = lambda quick: _engine_fresh_large(quick, tables)
        mod.main(list(argv))
    except BaseException as e:  # noqa: B036 - record what went wrong, then re-raise
        error = f"{type(e).__name__}: {e}"
        raise
    finally:
        with open(json_path, "w") as f:
            json.dump({"tables": tables, "error": error}, f)


def _engine_fresh_large(quick, tables):
    """engine.py runs its large workload again in a fresh interpreter (NOTE: [allocator state] there); do the
    same through this runner, so that run's table is recorded too."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    try:
        cmd = [sys.executable, "-m", "benchmarks.run", "--child", "benchmarks.engine", "--json", path,
               "--", "--fresh-large"] + (["--quick"] if quick else [])
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        print(res.stdout, end="", flush=True)
        if res.returncode != 0:
            print(f"[skip] the fresh-process run failed:\n{res.stderr}")
            return
        with open(path) as f:
            tables.extend(json.load(f)["tables"])
    finally:
        os.unlink(path)


# ---------------------------------------------------------------------------------------------------------
# Parent side: run every program, write the report
# ---------------------------------------------------------------------------------------------------------

def _run_program(module, quick):
    """Run one program in a fresh interpreter, echoing its output; returns ``(tables, stdout, error)``."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    cmd = [sys.executable, "-u", "-m", "benchmarks.run", "--child", module, "--json", path, "--"]
    cmd += ["--quick"] if quick else []
    lines = []
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
        proc.wait()
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            data = {"tables": [], "error": None}
        error = data.get("error")
        if proc.returncode != 0 and error is None:
            error = f"exit status {proc.returncode}"
        if error is not None:
            error += "\n" + "".join(lines[-15:])
        return data["tables"], "".join(lines), error
    finally:
        os.unlink(path)


def _notes(stdout):
    """The programs' own verdicts and skips: lines naming a target, an overhead or a skipped peer."""
    keep = []
    for line in stdout.splitlines():
        s = line.strip()
        if s.startswith("[skip]") or "target" in s or "overhead above" in s or s.startswith("BLAS") \
                or "malloc" in s:
            keep.append(s)
    return keep


def _fmt(seconds, scale):
    v = seconds * scale
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def table_markdown(table):
    """One recorded table as markdown: median, IQR, min (in the table's unit, per op where it says so),
    ratio of medians to the baseline row, and page faults per call when the program measured them.

    >>> t = {"title": "T", "baseline": "a", "unit": "ms", "per": 1, "faults": False, "timings": [
    ...     {"name": "a", "median": 0.002, "q1": 0.0019, "q3": 0.0021, "min": 0.0018, "max": 0.003, "repeats": 9},
    ...     {"name": "b", "median": 0.004, "q1": 0.0039, "q3": 0.0041, "min": 0.0038, "max": 0.005, "repeats": 9}]}
    >>> print(table_markdown(t))
    | implementation | median (ms) | IQR (ms) | min (ms) | ratio to a |
    |---|---:|---:|---:|---:|
    | a | 2 | 1.9 – 2.1 | 1.8 | 1.00x |
    | b | 4 | 3.9 – 4.1 | 3.8 | 2.00x |
    <BLANKLINE>
    9 repeats each, in rounds.
    """
    unit, per = table["unit"], table["per"]
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit] / per
    unit_label = {"us": "µs"}.get(unit, unit) + (" per op" if per != 1 else "")
    timings = table["timings"]
    base = next((t for t in timings if t["name"] == table["baseline"]), None)
    head = f"| implementation | median ({unit_label}) | IQR ({unit_label}) | min ({unit_label}) |"
    sep = "|---|---:|---:|---:|"
    if base is not None:
        head += f" ratio to {table['baseline']} |"
        sep += "---:|"
    if table["faults"]:
        head += " page faults / call |"
        sep += "---:|"
    rows = [head, sep]
    for t in timings:
        row = (f"| {t['name']} | {_fmt(t['median'], scale)} | {_fmt(t['q1'], scale)} – {_fmt(t['q3'], scale)} | "
               f"{_fmt(t['min'], scale)} |")
        if base is not None:
            row += f" {t['median'] / base['median']:.2f}x |"
        if table["faults"]:
            f = t.get("faults")
            row += " - |" if f is None or f != f else f" {f:.0f} |"
        rows.append(row)
    repeats = sorted({t["repeats"] for t in timings})
    rows.append("")
    rows.append(f"{'/'.join(map(str, repeats))} repeats each, in rounds.")
    return "\n".join(rows)


def _versions():
    import numpy
    lines = [f"- Python {platform.python_version()} ({platform.python_implementation()}) on "
             f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
             + (f", {_cpu_model()}" if _cpu_model() else ""),
             f"- NumPy {numpy.__version__}"]
    try:
        import chainrule
        lines.append(f"- chainrule {chainrule.__version__}" + (f" (commit {_commit()})" if _commit() else ""))
    except Exception as e:  # a broken working tree still gets a report
        lines.append(f"- chainrule: import failed ({type(e).__name__})")
    for dist, label in PEERS:
        try:
            lines.append(f"- {label}: {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"- {label}: not installed (its rows are skipped)")
    return lines


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def _commit():
    try:
        res = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=5)
        return res.stdout.strip() if res.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _load():
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def report_markdown(results, *, quick, started, seconds, load_start, load_end):
    """The whole ``docs/benchmarks.md`` text from ``results``: ``[(name, module, what, tables, stdout, error)]``."""
    out = ["# Benchmarks", "",
           "Generated by `python -m benchmarks` (`benchmarks/run.py`); do not edit by hand. Each program ran in its "
           "own fresh interpreter; every implementation's result was checked against a reference before it was "
           "timed. Times are per call (per op where the column says so); *ratio* is the median divided by the "
           "median of the workload's baseline row, so below 1 is faster than the baseline.", ""]
    if quick:
        out += ["> **Quick run** (`--quick`): few repeats, so the figures are noisy. Run `python -m benchmarks` on "
                "a quiet machine for the published numbers.", ""]
    out += ["## Machine", "",
            f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}, suite took {seconds / 60:.1f} min; 1-minute load "
            f"average {load_start} at start, {load_end} at end"]
    out += _versions()
    out += ["", "## Contents", ""]
    for name, module, what, *_ in results:
        out.append(f"- [{what}](#{_anchor(name, module)})")
    for name, module, what, tables, stdout, error in results:
        path = module.replace(".", "/") + ".py"
        out += ["", f"<a id=\"{_anchor(name, module)}\"></a>", f"## {what}", "", f"Program: `{path}` "
                f"(run alone: `python -m {module}`).", ""]
        if tables is None:
            out += [f"*Skipped: {error}*"]
            continue
        if error:
            out += ["**The program failed** (tables recorded before the failure are shown):", "", "```",
                    error.strip(), "```", ""]
        for table in tables:
            out += [f"### {table['title']}", "", table_markdown(table), ""]
        notes = _notes(stdout)
        if notes:
            out += ["Verdicts and notes printed by the program:", ""]
            out += [f"- {n}" for n in notes]
        if not tables and not error:
            out += ["The program printed no table; its output:", "", "```", stdout.strip(), "```"]
    return "\n".join(out).rstrip() + "\n"


def _anchor(name, module):
    return f"bench-{name}"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "--child":
        # python -m benchmarks.run --child MODULE --json PATH -- [program options]
        sep = argv.index("--") if "--" in argv else len(argv)
        opts, rest = argv[:sep], argv[sep + 1:]
        _child(opts[1], opts[opts.index("--json") + 1], rest)
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats: a smoke run with noisy figures")
    parser.add_argument("--only", default=None,
                        help="comma-separated subset of: " + ", ".join(p[0] for p in PROGRAMS))
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "benchmarks.md"),
                        help="where to write the markdown report (default: docs/benchmarks.md)")
    parser.add_argument("--no-write", action="store_true", help="print the timings only; write no report")
    args = parser.parse_args(argv)
    chosen = PROGRAMS
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = sorted(set(wanted) - {p[0] for p in PROGRAMS})
        if unknown:
            parser.error(f"--only: unknown program(s) {unknown}; choose from {[p[0] for p in PROGRAMS]}")
        chosen = [p for p in PROGRAMS if p[0] in wanted]

    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    load_start = _load()
    results = []
    for name, module, what in chosen:
        print(f"\n{'=' * 100}\n{what}  [{module}]\n{'=' * 100}", flush=True)
        if importlib.util.find_spec(module) is None:
            note = f"`{module.replace('.', '/')}.py` is not present in this checkout."
            print(f"[skip] {note}")
            results.append((name, module, what, None, "", note))
            continue
        tables, stdout, error = _run_program(module, args.quick)
        if error:
            print(f"[error] {module} failed: {error.splitlines()[0]}")
        results.append((name, module, what, tables, stdout, error))
    seconds = time.perf_counter() - t0
    failed = [r[1] for r in results if r[3] is not None and r[5]]
    print(f"\nsuite finished in {seconds / 60:.1f} min" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if not args.no_write:
        text = report_markdown(results, quick=args.quick, started=started, seconds=seconds,
                               load_start=load_start, load_end=_load())
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tmp = args.output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, args.output)
        print(f"wrote {os.path.relpath(args.output, os.getcwd())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
