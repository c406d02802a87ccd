"""MkDocs hook: render the committed benchmark JSON as tables at build time.

A page line ``<!-- benchmark: NAME -->`` is replaced by the tables of
``docs/benchmarks/data/NAME.json`` (the file a benchmark in ``benchmarks/`` wrote, copied by
``docs/benchmarks/collect.py``), or, when that file is absent, by a note saying so. Nothing
is typed in by hand: every number shown comes from the JSON, with the machine, date and
command recorded in it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^<!-- benchmark: (?P<name>[\w-]+) -->\s*$", re.MULTILINE)
DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
MAX_ROWS = 60


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return MARKER.sub(lambda m: render(m.group("name")), markdown)


def render(name: str) -> str:
    path = DATA / f"{name}.json"
    if not path.is_file():
        return (f"*No results are committed for `{name}` yet: run the command above, then "
                f"`python docs/benchmarks/collect.py benchmarks/results/{name}.json "
                f"--command \"...\"`.*\n")
    report = json.loads(path.read_text(encoding="utf-8"))
    provenance = report.pop("provenance", {})
    parts = [_provenance(provenance, report.get("machine"))]
    if name in RENDERERS:
        parts.append(RENDERERS[name](report))
        return "\n\n".join(parts) + "\n\nEvery field of the JSON: " \
            f"[`{name}.json`](data/{name}.json).\n"
    for key, value in report.items():
        if key == "machine":
            continue
        table = _table(value)
        if table:
            parts.append(f"**{_label(key)}**\n\n{table}")
        elif _is_scalar(value):
            parts.append(f"**{_label(key)}**: {_cell(value)}")
    return "\n\n".join(parts) + "\n"


def _provenance(provenance: dict, machine: Any) -> str:
    lines = []
    if provenance.get("command"):
        lines.append(f"Produced by `{provenance['command']}`")
    if provenance.get("date"):
        lines.append(f"on {provenance['date']}")
    text = " ".join(lines) + "." if lines else ""
    if isinstance(machine, dict):
        described = ", ".join(f"{k} {_cell(v)}" for k, v in machine.items()
                              if _is_scalar(v) and v not in ("", None))
        text += f" Machine: {described}."
    return text.strip()


def _label(key: str) -> str:
    return key.replace("_", " ")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _cell(value: Any) -> str:
    if value is None:
        return "-"  # not measured by that simulator
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.3e}"
    if isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value) and len(value) <= 12:
        return ", ".join(_cell(v) for v in value)
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text


def _short(value: Any) -> bool:
    return _is_scalar(value) or (isinstance(value, (list, tuple)) and len(value) <= 12
                                 and all(_is_scalar(v) for v in value))


def _rows_table(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        for key, value in row.items():
            if key not in columns and _short(value):
                columns.append(key)
    if not columns:
        return ""
    lines = ["| " + " | ".join(_label(c) for c in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    for row in rows[:MAX_ROWS]:
        lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    if len(rows) > MAX_ROWS:
        lines.append(f"\n({len(rows) - MAX_ROWS} more rows in the JSON)")
    return "\n".join(lines)


def _table(value: Any) -> str:
    """A markdown table for a list of records, a mapping of records or a flat mapping."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return _rows_table(value)
    if isinstance(value, dict) and value:
        if all(isinstance(v, dict) for v in value.values()):
            rows = [{"": key, **_flatten(v)} for key, v in value.items()]
            return _rows_table(rows)
        flat = _flatten(value)
        shown = {k: v for k, v in flat.items() if _short(v)}
        if shown:
            return "\n".join(["| | |", "| --- | --- |"]
                             + [f"| {_label(k)} | {_cell(v)} |" for k, v in shown.items()])
    return ""


def _flatten(mapping: dict, prefix: str = "") -> dict:
    flat: dict = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and len(prefix.split(".")) < 3:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _stat(summary: dict, key: str, digits: int = 3) -> str:
    """``mean ± std`` (or the value of a single run) of a benchmark's summary entry."""
    entry = summary.get(key)
    if not isinstance(entry, dict) or "mean" not in entry:
        return "-"
    text = f"{entry['mean']:.{digits}g}"
    if entry.get("n", 1) > 1:
        text += f" ± {entry['std']:.{digits}g}"
    return text


def _stdp(report: dict) -> str:
    lines = ["| scenario | neurons | plastic synapses | simulated (s) | simulator | wall s per "
             "simulated s | weights < 0.1 g_max | weights > 0.9 g_max | output rate, last "
             "fifth (Hz) |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for name, scenario in report.get("scenarios", {}).items():
        for simulator, summary in scenario.get("summary", {}).items():
            lines.append(
                f"| {name} | {scenario.get('neurons', '-')} | "
                f"{scenario.get('plastic_synapses', '-')} | {_cell(scenario.get('duration_s'))} "
                f"| {simulator} | {_stat(summary, 'run_s_per_sim_s')} | "
                f"{_stat(summary, 'low_fraction', 2)} | {_stat(summary, 'high_fraction', 2)} | "
                f"{_stat(summary, 'late_rate_hz')} |")
    window = report.get("window", {})
    text = "\n".join(lines)
    if window:
        text += (f"\n\nThe engine's weight change for {window.get('pairs')} single spike pairs "
                 f"against the analytic window: largest error "
                 f"{_cell(window.get('max_abs_error_over_a_plus'))} A+.")
    return text


def _engine_cuba(report: dict) -> str:
    rows = report.get("results", [])
    columns = [("model", "network"), ("n_neurons", "neurons"), ("n_synapses", "synapses"),
               ("simulator", "simulator"), ("run_s_per_sim_s", "wall s per simulated s"),
               ("compile_s", "compile (s)"), ("peak_rss_mb", "peak RSS (MB)"),
               ("exc_rate_hz", "exc rate (Hz)"), ("inh_rate_hz", "inh rate (Hz)"),
               ("exc_cv_isi", "exc CV of ISI"), ("inh_cv_isi", "inh CV of ISI")]
    present = [(key, label) for key, label in columns if any(key in row for row in rows)]
    lines = ["| " + " | ".join(label for _, label in present) + " |",
             "| " + " | ".join("---" for _ in present) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key, "-")) for key, _ in present) + " |")
    summary = report.get("summary")
    text = "\n".join(lines)
    if summary:
        table = _table(summary)
        if table:
            text += "\n\n**summary**\n\n" + table
    return text


def _percent(curve: dict, k: int) -> str:
    mean, std = curve["mean"][k], curve.get("std", [0.0] * (k + 1))[k]
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def _curves(title: str, columns: list[str], curves: dict) -> str:
    lines = [f"| {title} | " + " | ".join(columns) + " |",
             "| --- | " + " | ".join("---:" for _ in columns) + " |"]
    for name, curve in curves.items():
        lines.append(f"| {name} | "
                     + " | ".join(_percent(curve, k) for k in range(len(columns))) + " |")
    return "\n".join(lines)


def _hardware_drift(report: dict) -> str:
    settings = report.get("settings", {})
    parts = [f"Test accuracy (%, mean ± std over chip seeds {_cell(settings.get('seeds'))}; "
             f"{settings.get('epochs')} training epochs; clean accuracy "
             f"{100 * report.get('clean_accuracy', float('nan')):.1f} %)."]
    if "accuracy_vs_time" in report:
        parts.append(_curves("chip, time after programming", list(report["times_s"]),
                             report["accuracy_vs_time"]))
    if "accuracy_vs_adc_bits" in report:
        parts.append(_curves("ADC bits", [str(b) for b in report["adc_bits"]],
                             report["accuracy_vs_adc_bits"]))
    if "accuracy_vs_stuck_at" in report:
        parts.append(_curves("RRAM stuck-at rate",
                             [f"{100 * r:g} %" for r in report["stuck_at_rates"]],
                             {"accuracy": report["accuracy_vs_stuck_at"]}))
    energy = report.get("energy", {})
    rows = []
    for preset, entry in energy.items():
        for kind, joules in entry.get("energy_J", {}).items():
            rows.append({"preset": preset, "implementation": kind,
                         "energy per inference (nJ)": 1e9 * joules,
                         "latency per inference (us)":
                             1e6 * entry.get("latency_s", {}).get(kind, float("nan"))})
    if rows:
        parts.append(_rows_table(rows))
    timing = report.get("inference_time", {})
    if timing:
        parts.append(_table({k: v for k, v in timing.items() if _is_scalar(v)}))
    aihwkit = report.get("aihwkit", {})
    if aihwkit.get("reason"):
        parts.append(f"aihwkit: {aihwkit['reason']}")
    return "\n\n".join(parts)


def _microcircuit(report: dict) -> str:
    names = report.get("populations", [])
    lines = ["| target | status | measured |", "| --- | --- | --- |"]
    for target in report.get("targets", []):
        lines.append(f"| {target['target']} | {target['status']} | {target['measured']} |")
    parts = ["\n".join(lines)]
    timing = ["| scale | simulator | threads | synapses | build (s) | s per model s (mean) | "
              "s per model s (fastest) | peak RSS (GiB) | seeds |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for scale, entry in report.get("scales", {}).items():
        for sim in ("snnsim", "nest"):
            s = entry.get(sim, {})
            if not s.get("n_runs"):
                continue
            threads = report.get("threads_ours") if sim == "snnsim" else entry.get("nest_threads")
            timing.append(
                f"| {scale} | {sim} | {threads} | {_cell(s['n_synapses'])} | "
                f"{_cell(s['build_seconds'])} | {_cell(s['seconds_per_model_second'])} | "
                f"{_cell(s.get('seconds_per_model_second_min', '-'))} | "
                f"{_cell(s['peak_rss_gib'])} | {s['n_runs']} |")
    parts.append("**time and memory**\n\n" + "\n".join(timing))
    for scale, entry in report.get("scales", {}).items():
        ours, nest = entry.get("snnsim", {}), entry.get("nest", {})
        if not (ours.get("n_runs", 0) > 1 and nest.get("n_runs", 0) > 1):
            continue
        rows = ["| population | published (Hz) | snnsim (Hz) | NEST (Hz) | CV snnsim | "
                "CV NEST |", "| --- | --- | --- | --- | --- | --- |"]
        for k, name in enumerate(names):
            rows.append(
                f"| {name} | {report['published_rates'][k]:.3f} | "
                f"{ours['rates_mean'][k]:.3f} ± {ours['rates_sd'][k]:.3f} | "
                f"{nest['rates_mean'][k]:.3f} ± {nest['rates_sd'][k]:.3f} | "
                f"{ours['cv_isi_mean'][k]:.3f} | {nest['cv_isi_mean'][k]:.3f} |")
        parts.append(f"**rates at scale {scale}** (mean ± SD over {ours['n_runs']} and "
                     f"{nest['n_runs']} seeds)\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _delay_gpu_projection(report: dict) -> str:
    """Per preset: the counted work of one step and the projected epoch on each GPU."""
    gpus = list(report.get("gpus", {}))
    head = ["preset", "kernels / step", "GFLOP / step", "GB / step", "batches / epoch"]
    for gpu in gpus:
        head += [f"{gpu}: epoch s (bound)", f"{gpu}: epoch s, TF32"]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for row in report.get("rows", []):
        cells = [row["preset"], str(row["kernels"]), f"{row['flops'] / 1e9:.0f}",
                 f"{row['bytes'] / 1e9:.1f}", str(row["batches_per_epoch"])]
        for gpu in gpus:
            g = row["gpus"][gpu]
            cells += [f"{g['epoch_s']:.3g} ({g['epoch_bound_s']:.3g})",
                      f"{g['epoch_tf32_s']:.3g}"]
        lines.append("| " + " | ".join(cells) + " |")
    assumptions = ", ".join(f"{_label(k)} {_cell(v)}"
                            for k, v in report.get("assumptions", {}).items())
    return "\n".join(lines) + (f"\n\nAssumptions: {assumptions}." if assumptions else "")


RENDERERS = {"stdp": _stdp, "engine_cuba": _engine_cuba, "hardware_drift": _hardware_drift,
             "microcircuit": _microcircuit, "delay_gpu_projection": _delay_gpu_projection}
