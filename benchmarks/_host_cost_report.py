"""What ``host_cost.py`` reports: the ratios its goals are stated in, medians and the printed table.

Kept apart from the timing, which is what ``host_cost.py`` runs; these only read its rounds.
"""

from __future__ import annotations

import statistics

__all__ = ["medians", "paced_ratios", "summarise", "print_batch_size"]


def paced_ratios(rounds: list[dict], paced: list[dict]) -> dict:
    """Each paced round's main threads against the unpaced native TA-wide total of the same index."""
    per_round = {
        _short(name): [p[name]["main_thread_us"] / r["native_ta"]["total_us"] for r, p in zip(rounds, paced)]
        for name in paced[0]
    }
    return {
        **{_paced_key(short): statistics.median(v) for short, v in per_round.items()},
        "per_round": per_round,
    }


def _short(name: str) -> str:
    return name.removeprefix("sada_")


def _paced_key(short: str) -> str:
    return f"{short}_paced_main_thread_vs_native_ta_total"


def medians(rounds: list[dict]) -> dict:
    """Each variant's median over ``rounds`` of every figure but its image count."""
    return {
        name: {k: statistics.median(r[name][k] for r in rounds) for k in figures if k != "images"}
        for name, figures in rounds[0].items()
    }


def _ratios(one_round: dict) -> dict:
    native, read = one_round["native_ta"], one_round["native_read"]
    ratios = {
        f"{name}_vs_native_ta_rate": one_round[name]["images_per_s"] / native["images_per_s"]
        for name in ("sada_w0", "sada_w2", "sada_default")
        if name in one_round
    }
    default = one_round["sada_default"]
    ratios["default_main_thread_vs_native_ta_total"] = default["main_thread_us"] / native["total_us"]
    if "sada_floor" in one_round:
        ratios["floor_main_thread_vs_native_ta_total"] = (
            one_round["sada_floor"]["main_thread_us"] / native["total_us"]
        )
    ratios["default_total_minus_native_ta_total_us"] = default["total_us"] - native["total_us"]
    if "native_sada_ops" in one_round:
        ratios["default_total_minus_native_sada_ops_total_us"] = (
            default["total_us"] - one_round["native_sada_ops"]["total_us"]
        )
    ratios["val_vs_native_read_rate"] = one_round["sada_val"]["images_per_s"] / read["images_per_s"]
    return ratios


def summarise(rounds: list[dict]) -> dict:
    summary = medians(rounds)
    ratios = [_ratios(r) for r in rounds]
    summary["ratios_median_of_rounds"] = {k: statistics.median(r[k] for r in ratios) for k in ratios[0]}
    summary["ratios_per_round"] = ratios
    return summary


def print_batch_size(batch_size: int, result: dict, variants) -> None:
    print(f"\nbatch {batch_size}: medians of the rounds (us per image)")
    print(f"{'variant':14s} {'img/s':>8s} {'total':>7s} {'main':>7s} {'threads':>8s} {'workers':>8s}")
    for name in variants:
        r = result[name]
        print(
            f"{name:14s} {r['images_per_s']:8.0f} {r['total_us']:7.1f} {r['main_thread_us']:7.1f} "
            f"{r['other_threads_us']:8.1f} {r['workers_us']:8.1f}"
        )
    for key, value in result["ratios_median_of_rounds"].items():
        per_round = ", ".join(f"{r[key]:.2f}" for r in result["ratios_per_round"])
        print(f"  {key}: {value:.3f}  (rounds: {per_round})")
    if "paced" in result:
        paced = result["paced"]
        for name in paced["rounds"][0]:
            r = paced[name]
            print(
                f"  paced {name} (sleeping {r['pace_ms']:.1f} ms per batch): main {r['main_thread_us']:.1f}, "
                f"threads {r['other_threads_us']:.1f}, workers {r['workers_us']:.1f} us per image"
            )
        for short, values in paced["ratios"]["per_round"].items():
            key = _paced_key(short)
            per_round = ", ".join(f"{v:.3f}" for v in values)
            print(f"  {key}: {paced['ratios'][key]:.3f}  (rounds: {per_round})")
