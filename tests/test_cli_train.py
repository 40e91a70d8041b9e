"""``sada-dali train``: a CPU smoke run of a few steps, resuming from its checkpoint, and input errors."""

import numpy as np
import pytest
import torch
from _images import write_image_folder

from sada_dali.checkpoint import load_checkpoint
from sada_dali.cli.main import main
from sada_dali.cli.models import SmallCNN, create_model

STEPS, BATCH = 2, 4


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    write_image_folder(root / "train", num_classes=2, per_class=6, sizes=(32, 48), seed=1)
    write_image_folder(root / "val", num_classes=2, per_class=2, sizes=(32, 48), seed=2)
    return root


def _train(data, out, *extra):
    return main(
        [
            "train",
            "--data",
            str(data),
            "--arch",
            "small_cnn",
            "--image-size",
            "32",
            "--batch-size",
            str(BATCH),
            "--max-steps",
            str(STEPS),
            "--workers",
            "0",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_train_smoke_run_checkpoints_and_resume_restores_epoch_and_estimator(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(data, out, "--epochs", "1") == 0
    first = load_checkpoint(out / "checkpoint.pt")
    assert first["epoch"] == 1 and first["arch"] == "small_cnn" and first["sada"] is True
    assert first["estimator"]["epoch"] == 1
    assert int(np.asarray(first["estimator"]["seen"]).sum()) == STEPS * BATCH
    assert first["scheduler"]["last_epoch"] == STEPS
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json"]  # no temporary left

    assert _train(data, out, "--epochs", "2", "--resume", str(out / "checkpoint.pt")) == 0
    assert "resumed from" in capsys.readouterr().out
    second = load_checkpoint(out / "checkpoint.pt")
    assert second["epoch"] == 2
    assert second["estimator"]["epoch"] == 2
    assert int(np.asarray(second["estimator"]["seen"]).sum()) == 2 * STEPS * BATCH
    assert second["scheduler"]["last_epoch"] == 2 * STEPS
    assert second["history"][0] == first["history"][0]
    assert [h["epoch"] for h in second["history"]] == [1, 2]


def test_train_without_sada_uses_the_uniform_baseline_and_no_estimator(data, tmp_path):
    out = tmp_path / "baseline"
    assert _train(data, out, "--epochs", "1", "--no-sada") == 0
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["sada"] is False and ckpt["policy"] == "trivial" and ckpt["estimator"] is None
    assert 0.2 < ckpt["history"][0]["strength"]["mean"] < 0.8


@pytest.mark.parametrize(
    "policy, estimator_keys",
    [
        ("sada-rank", {"seen", "ring", "variance", "log_prev", "strengths"}),
        ("entaugment", {"latest", "strengths"}),
        ("constant", None),
    ],
)
def test_train_policy_chooses_the_estimator_or_table_and_resume_demands_the_same(
    data, tmp_path, capsys, policy, estimator_keys
):
    out = tmp_path / policy
    assert _train(data, out, "--epochs", "1", "--policy", policy, "--magnitude", "0.25") == 0
    ckpt = load_checkpoint(out / "checkpoint.pt")
    assert ckpt["policy"] == policy and ckpt["sada"] is (policy == "sada-rank")
    if estimator_keys is None:
        assert ckpt["estimator"] is None and ckpt["history"][0]["strength"]["mean"] == pytest.approx(0.25)
    else:
        assert estimator_keys < set(ckpt["estimator"]) and ckpt["estimator"]["epoch"] == 1
    if policy == "sada-rank":
        assert ckpt["estimator"]["config"]["normalize"] == "rank"
    with pytest.raises(SystemExit):
        _train(data, out, "--epochs", "2", "--policy", "sada", "--resume", str(out / "checkpoint.pt"))
    assert f"--policy {policy}; pass the same --arch and --policy" in capsys.readouterr().err


def test_train_rejects_an_unknown_policy(data, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--data", str(data), "--policy", "autoaugment"])
    assert "argument --policy: invalid choice: 'autoaugment'" in capsys.readouterr().err


def test_create_model_builds_torchvision_and_small_models_with_the_class_count():
    assert create_model("resnet18", 7).fc.out_features == 7
    model = create_model("small_cnn", 3)
    assert isinstance(model, SmallCNN) and model(torch.zeros(2, 3, 16, 16)).shape == (2, 3)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--data", "/no/such/dir"],
            "The `--data` '/no/such/dir' does not exist; pass an existing directory.",
        ),
        (["--batch-size", "-3"], "The `--batch-size` must be an integer >= 1, got '-3'."),
        (["--epochs", "two"], "The `--epochs` must be an integer >= 1, got 'two'."),
        (["--max-steps", "0"], "The `--max-steps` must be an integer >= 1, got '0'."),
        (["--arch", "resnet5000"], "The `--arch` must be 'small_cnn' or a torchvision classification model"),
        (["--resume", "/no/such/checkpoint.pt"], "The `--resume` '/no/such/checkpoint.pt' is not a file"),
    ],
)
def test_train_rejects_bad_input_with_a_clear_message(data, argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--data", str(data), "--device", "cpu", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_train_rejects_a_corrupt_resume_checkpoint(data, tmp_path, capsys):
    broken = tmp_path / "checkpoint.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(SystemExit), pytest.warns(UserWarning, match="loaded unverified"):
        _train(data, tmp_path / "out", "--epochs", "1", "--resume", str(broken))
    err = capsys.readouterr().err
    assert "The `--resume` file cannot be read" in err and "is truncated or corrupt" in err


def test_train_rejects_a_data_dir_without_val(tmp_path, capsys):
    write_image_folder(tmp_path / "train", num_classes=1, per_class=1)
    with pytest.raises(SystemExit):
        main(["train", "--data", str(tmp_path)])
    assert "must hold a `val/` folder of class folders" in capsys.readouterr().err


def test_train_requires_data(capsys):
    with pytest.raises(SystemExit):
        main(["train"])
    assert "the following arguments are required: --data" in capsys.readouterr().err


def test_train_step_on_a_batch_emptied_by_skips_keeps_stepping_with_zero_loss():
    from sada_dali.cli._loop import train_one_epoch

    class Recorder:
        def __init__(self):
            self.rows = []

        def update(self, indices, logits):
            self.rows.append((indices.shape[0], tuple(logits.shape)))

    torch.manual_seed(0)
    model = SmallCNN(3, width=8)
    batches = [
        (torch.zeros(0, 3, 16, 16), torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)),
        (torch.randn(2, 3, 16, 16), torch.tensor([0, 2]), torch.tensor([5, 6])),
    ]
    recorder = Recorder()
    stats = train_one_epoch(
        model,
        batches,
        torch.optim.SGD(model.parameters(), lr=0.1),
        device=torch.device("cpu"),
        estimator=recorder,
    )
    assert stats["steps"] == 2 and stats["images"] == 2
    assert recorder.rows == [(0, (0, 3)), (2, (2, 3))]
    assert np.isfinite(stats["loss"]) and stats["loss"] > 0


def _ddp_rank(rank: int, world: int, port: int, data: str, out: str) -> None:
    import os

    import torch.distributed as dist

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    try:
        assert _train(data, out, "--epochs", "1") == 0
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@pytest.mark.slow
def test_train_under_two_gloo_ranks_shares_one_estimator_over_both_shards(data, tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "ddp"
    mp.spawn(_ddp_rank, args=(2, port, str(data), str(out)), nprocs=2)
    ckpt = load_checkpoint(out / "checkpoint.pt")
    seen = np.asarray(ckpt["estimator"]["seen"])
    # 12 training images in 2 shards of 6: one full batch of 4 per rank (drop_last). Rank 0's
    # estimator saw both ranks' batches, 8 distinct samples, where one rank reads only 4.
    assert int(seen.sum()) == 2 * BATCH and int(seen.max()) == 1
    assert ckpt["epoch"] == 1 and ckpt["scheduler"]["last_epoch"] == 1
