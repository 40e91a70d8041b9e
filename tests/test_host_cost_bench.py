"""``benchmarks/host_cost.py`` reports its split and, with ``--paced``, the paced main threads."""

import json
import os

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


@pytest.fixture
def host_cost(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import host_cost

    return host_cost


@pytest.mark.slow
def test_a_paced_run_sleeps_twice_the_batch_time_and_reports_the_main_threads_against_native(
    host_cost, tmp_path, capsys
):
    out = tmp_path / "host_cost.json"
    argv = ["--num-images", "64", "--batch-sizes", "16", "--rounds", "1", "--paced", "--json", str(out)]
    argv += ["--variants", "sada_default", "sada_val", "native_ta", "native_read"]
    result = host_cost.main(argv)["batch_sizes"]["16"]
    paced = result["paced"]
    for name in ("sada_default", "native_ta"):
        expected_ms = 1e3 * host_cost.PACE_FACTOR * 16 / result[name]["images_per_s"]
        assert paced[name]["pace_ms"] == pytest.approx(expected_ms)
        assert paced[name]["main_thread_us"] > 0 and "images_per_s" not in paced[name]
    ratio = paced["sada_default"]["main_thread_us"] / result["native_ta"]["total_us"]
    assert paced["ratios"]["default_paced_main_thread_vs_native_ta_total"] == pytest.approx(ratio)
    assert json.loads(out.read_text())["config"]["paced"] is True
    assert "default_paced_main_thread_vs_native_ta_total" in capsys.readouterr().out


def test_an_unpaced_run_has_no_paced_rounds(host_cost, monkeypatch):
    prepared = {}
    monkeypatch.setattr(
        host_cost, "_prepare", lambda variant, *a: prepared.setdefault(variant, (_epoch, None))
    )
    monkeypatch.setattr(host_cost, "_time_epoch", lambda run_epoch, pace_s=0.0: _fake_epoch(pace_s))
    args = type(
        "Args", (), {"variants": ["sada_default", "sada_val", "native_ta", "native_read"], "rounds": 2}
    )
    args.paced = False
    assert "paced" not in host_cost.run_batch_size("src", None, args, 8)
    args.paced = True
    assert set(host_cost.run_batch_size("src", None, args, 8)["paced"]) == {
        "rounds",
        "sada_default",
        "native_ta",
        "ratios",
    }


def test_the_floor_variant_is_paced_and_priced_against_native_when_asked_for(host_cost, monkeypatch):
    monkeypatch.setattr(host_cost, "_prepare", lambda variant, *a: (_epoch, None))
    monkeypatch.setattr(host_cost, "_time_epoch", lambda run_epoch, pace_s=0.0: _fake_epoch(pace_s))
    variants = ["sada_default", "sada_val", "sada_floor", "native_ta", "native_read"]
    args = type("Args", (), {"variants": variants, "rounds": 2, "paced": True})
    result = host_cost.run_batch_size("src", None, args, 8)
    assert result["ratios_median_of_rounds"]["floor_main_thread_vs_native_ta_total"] == pytest.approx(10 / 35)
    assert set(result["paced"]["rounds"][0]) == {"sada_default", "sada_floor", "native_ta"}
    assert set(result["paced"]["ratios"]["per_round"]) == {"default", "floor", "native_ta"}
    assert result["paced"]["ratios"]["floor_paced_main_thread_vs_native_ta_total"] == pytest.approx(10 / 35)


def _epoch(epoch, pace_s=0.0):
    return 8


def _fake_epoch(pace_s):
    split = {"main_thread_us": 10.0, "other_threads_us": 20.0, "workers_us": 5.0}
    return {"images": 8, "images_per_s": 100.0, **split, "total_us": 35.0}


def test_host_cost_refuses_variants_the_ratios_need(host_cost, capsys):
    with pytest.raises(SystemExit):
        host_cost.main(["--variants", "sada_default", "native_ta"])
    assert "--variants must include native_read (the ratios need it)" in capsys.readouterr().err


def test_the_native_variant_over_sadas_op_space_prices_the_reader_alone(host_cost, monkeypatch):
    import sada_dali.cli._bench_native as native

    built = []
    monkeypatch.setattr(native, "prepare_native_dali", lambda *a, **kw: built.append(kw) or _epoch)
    listing = type("Listing", (), {"files": ["a.jpg"], "labels": [0]})
    args = type("Args", (), {"image_size": 32, "threads": 1})
    for variant in ("native_sada_ops", "native_ta", "native_read"):
        assert host_cost._prepare(variant, "src", listing, args, 8) == (_epoch, None)
    assert [(kw["op_space"], kw["augment"]) for kw in built] == [
        ("sada", True),
        ("trivial_augment_wide", True),
        ("trivial_augment_wide", False),
    ]
    monkeypatch.setattr(host_cost, "_prepare", lambda variant, *a: (_epoch, None))
    monkeypatch.setattr(host_cost, "_time_epoch", lambda run_epoch, pace_s=0.0: _fake_epoch(pace_s))
    variants = ["sada_default", "sada_val", "native_ta", "native_sada_ops", "native_read"]
    run_args = type("Args", (), {"variants": variants, "rounds": 1, "paced": False})
    ratios = host_cost.run_batch_size("src", None, run_args, 8)["ratios_median_of_rounds"]
    assert ratios["default_total_minus_native_sada_ops_total_us"] == 0.0


def test_host_cost_takes_the_extra_variant_only_when_named(host_cost, capsys):
    assert "native_sada_ops" not in host_cost.VARIANTS
    with pytest.raises(SystemExit):
        host_cost.main(["--variants", "native_bogus"])
    assert "invalid choice: 'native_bogus'" in capsys.readouterr().err
