"""The ratios and the printed table of ``sada-dali bench``."""

from __future__ import annotations

import statistics

__all__ = ["RATIOS", "compute_ratios", "compute_round_ratios", "compute_cpu_ratios", "format_table"]

RATIOS = (
    ("row1/row2", 1, 2),
    ("row1/row4", 1, 4),
    ("row3/row4", 3, 4),
    ("sada_cpu/native_dali_cpu", 3, 6),
    ("sada_cpu/native_dali_sada_ops", 3, 8),
    ("shards/files", 7, 3),
)


def compute_ratios(rows: list[dict]) -> dict:
    """Speed-up ratios ``rowA/rowB`` of images/s; None where either row was not measured."""
    rate = {row["row"]: row.get("images_per_s") for row in rows}
    return {name: (rate[a] / rate[b] if rate.get(a) and rate.get(b) else None) for name, a, b in RATIOS}


def compute_round_ratios(rows: list[dict]) -> dict:
    """The median over rounds of each round's ``rowA/rowB`` (both timed back to back, so a load
    that drifts over the run cancels); None where either row was not measured."""
    rates = {row["row"]: row.get("repeats_images_per_s") for row in rows}
    return {
        name: statistics.median(x / y for x, y in zip(rates[a], rates[b]))
        if rates.get(a) and rates.get(b)
        else None
        for name, a, b in RATIOS
    }


def compute_cpu_ratios(rows: list[dict]) -> dict:
    """``rowA/rowB`` as the inverse ratio of CPU time per image (process and worker processes):
    the throughput ratio at equal cores of two CPU-bound rows, robust to other jobs sharing the
    cores; None where either row has no CPU time."""
    cpu = {row["row"]: row.get("cpu_ms_per_image") for row in rows}
    return {name: (cpu[b] / cpu[a] if cpu.get(a) and cpu.get(b) else None) for name, a, b in RATIOS}


def format_table(rows: list[dict], ratios: dict) -> str:
    """The printed table: one line per row, then the ratios."""
    lines = [f"{'row':<4}{'loader':<52}{'images/s':>18}{'CPU ms/img':>12}", "-" * 86]
    for row in rows:
        if row["row"] == 5 and row["status"] == "ok":
            value = f"{100 * row['fraction_of_step']:.2f}% of step"
        elif row["status"] == "ok":
            value = f"{row['images_per_s']:.1f}"
        else:
            value = row["status"]
        cpu = f"{row['cpu_ms_per_image']:.2f}" if row.get("cpu_ms_per_image") else ""
        lines.append(f"{row['row']:<4}{row['name']:<52}{value:>18}{cpu:>12}")
    lines.append("-" * 86)
    for name, value in ratios.items():
        lines.append(f"ratio {name}: " + ("n/a (a row was skipped)" if value is None else f"{value:.2f}x"))
    return "\n".join(lines)
