"""The three peer scripts of docs/integration.md, as loops written after their structure (not their
code), with only the loader lines changed and at most two lines added to feed SADA: NVIDIA DALI's
ResNet-50 example, timm's train.py (its real ``PrefetchLoader``, ``Mixup`` and ``ClassificationTask``)
and DeepLearningExamples' ConvNets (``get_dali_train_loader``). Each runs 2 epochs on the CPU with
its own checkpoint code, on a tiny ImageFolder; GPU-only calls (``.cuda()``) are left out."""

import math
import os
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from _images import write_image_folder
from nvidia.dali.plugin.base_iterator import LastBatchPolicy
from timm.data import Mixup
from timm.data.loader import PrefetchLoader
from timm.loss import SoftTargetCrossEntropy
from timm.task import ClassificationTask

from sada_dali import SADAClassificationIterator, SADALoader

SIZE, BATCH, HEAD = 32, 8, 1000  # torchvision and timm models keep a 1000-class head
TEST_ONLY = dict(workers=0, num_magnitude_bins=11, seed=3)  # small and fast; not part of the recipes
NUM_TRAIN, NUM_VAL = 24, 20


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    write_image_folder(root / "train", num_classes=4, per_class=6, sizes=(40, 56), seed=7)
    write_image_folder(root / "val", num_classes=4, per_class=5, sizes=(40, 56), seed=8)
    return root


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, HEAD))


# ---- NVIDIA DALI, docs/examples/use_cases/pytorch/resnet50/main.py ---------------------------------


def dali_train(train_loader, model, criterion, optimizer, epoch, log):
    model.train()
    for i, data in enumerate(train_loader):
        input = data[0]["data"]
        target = data[0]["label"].squeeze(-1).long()
        train_loader_len = int(math.ceil(train_loader._size / BATCH))
        output = model(input)
        train_loader.feed(output.detach(), target)  # the added line
        loss = criterion(output, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        log.append((epoch, data[0]["index"].clone(), train_loader_len))


def dali_validate(val_loader, model, criterion):
    model.eval()
    rows = 0
    for i, data in enumerate(val_loader):
        input = data[0]["data"]
        target = data[0]["label"].squeeze(-1).long()
        with torch.no_grad():
            output = model(input)
            criterion(output, target)
        rows += input.size(0)
    return rows


def dali_main(data, checkpoint, epochs, *, resume=False, auto_reset=True):
    model, criterion = tiny_model(), torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
    start_epoch = 0
    if resume:  # the script's resume(), unchanged (a plain torch.load)
        saved = torch.load(checkpoint)
        start_epoch = saved["epoch"]
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
    common = dict(device="cpu", num_threads=1, image_size=SIZE, shard_id=0, num_shards=1, **TEST_ONLY)
    policy = dict(reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL, auto_reset=auto_reset)
    train_loader = SADAClassificationIterator(
        data / "train", BATCH, estimator=True, num_classes=HEAD, **policy, **common
    )
    val_loader = SADAClassificationIterator(data / "val", BATCH, train=False, **policy, **common)
    if resume:
        train_loader.load_state_dict(torch.load(checkpoint)["sada"])  # the restore line
    log, rows = [], []
    for epoch in range(start_epoch, epochs):
        dali_train(train_loader, model, criterion, optimizer, epoch, log)
        rows.append(dali_validate(val_loader, model, criterion))
        torch.save(
            {
                "epoch": epoch + 1,
                "arch": "tiny",
                "state_dict": model.state_dict(),
                "best_prec1": 0.0,
                "optimizer": optimizer.state_dict(),
                "sada": train_loader.state_dict(),  # the save line
            },
            checkpoint,
        )
        train_loader.reset()
        val_loader.reset()
    return train_loader, log, rows


def epoch_indices(log, epoch):
    return torch.cat([indices for e, indices, _ in log if e == epoch]).tolist()


@pytest.mark.parametrize("auto_reset", [True, False])
def test_dali_example_runs_two_epochs_and_resumes_from_its_own_checkpoint(data, tmp_path, auto_reset):
    full, log, rows = dali_main(data, tmp_path / "full.pth.tar", 2, auto_reset=auto_reset)
    assert rows == [NUM_VAL, NUM_VAL]  # validation never drops a sample
    for epoch in (0, 1):
        assert sorted(epoch_indices(log, epoch)) == list(range(NUM_TRAIN))
    assert {length for _, _, length in log} == {3}
    assert full.estimator.epoch == 1 and np.all(full.estimator.state_dict()["seen"] == 2)

    dali_main(data, tmp_path / "part.pth.tar", 1, auto_reset=auto_reset)
    resumed, resumed_log, resumed_rows = dali_main(
        data, tmp_path / "part.pth.tar", 2, resume=True, auto_reset=auto_reset
    )
    assert resumed_rows == [NUM_VAL] and {e for e, _, _ in resumed_log} == {1}
    assert epoch_indices(resumed_log, 1) == epoch_indices(log, 1)  # epoch 1's order, not epoch 0's
    assert np.array_equal(resumed.strengths, full.strengths)  # the estimator went on, not afresh
    mine = resumed.estimator.state_dict()
    for name in ("seen", "ring", "variance", "log_prev", "strengths"):
        np.testing.assert_allclose(mine[name], full.estimator.state_dict()[name], rtol=1e-5, atol=1e-6)


# ---- timm, train.py (train_one_epoch, its _forward, _set_loader_epoch) ------------------------------


def timm_set_loader_epoch(loader, epoch):
    """What timm's train.py runs before each epoch: set_epoch on the loader's parts that have one."""
    for name in ("dataset", "batch_sampler", "sampler"):
        part = getattr(loader, name, None)
        if hasattr(part, "set_epoch"):
            part.set_epoch(epoch)


def timm_train_one_epoch(epoch, model, loader, task, optimizer, args, mixup_fn=None):
    model.train()
    optimizer.zero_grad()
    for batch_idx, (input, target) in enumerate(loader):
        if not args["prefetcher"]:
            input, target = input.to(args["device"]), target.to(args["device"])
            if mixup_fn is not None:
                input, target = mixup_fn(input, target)

        def _forward():
            with nullcontext():  # amp_autocast
                result = task(input, target)
                loss = result["loss"]
            getattr(loader, "loader", loader).feed(result["output"].detach(), target)  # the added line
            return loss

        loss = _forward()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def timm_validate(model, loader, loss_fn, args):
    model.eval()
    rows, images = 0, []
    with torch.no_grad():
        for batch_idx, (input, target) in enumerate(loader):
            if not args["prefetcher"]:
                input, target = input.to(args["device"]), target.to(args["device"])
            loss_fn(model(input), target)
            rows += input.size(0)
            images.append(input)
    return rows, torch.cat(images)


def timm_main(data, output_dir, *, prefetcher, mixup, start_epoch=0, epochs=2):
    args = {"prefetcher": prefetcher, "device": torch.device("cpu")}
    model = tiny_model()
    criterion = SoftTargetCrossEntropy() if mixup else torch.nn.CrossEntropyLoss()
    task = ClassificationTask(model, criterion=criterion, device=args["device"], verbose=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    common = dict(device="cpu", num_threads=1, image_size=SIZE, pairs=True, normalize=not prefetcher)
    loader_sada = SADALoader(data / "train", BATCH, estimator=True, num_classes=HEAD, **common, **TEST_ONLY)
    loader_train, loader_eval = (
        loader_sada,
        SADALoader(data / "val", BATCH, train=False, **common, **TEST_ONLY),
    )
    if prefetcher:  # timm's create_loader wraps its loaders the same way
        loader_train = PrefetchLoader(loader_train, device=args["device"])
        loader_eval = PrefetchLoader(loader_eval, device=args["device"])
    mixup_fn = (
        Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=HEAD) if mixup else None
    )
    rows, last_images = [], None
    for epoch in range(start_epoch, start_epoch + epochs):
        timm_set_loader_epoch(loader_train, epoch)  # timm's own call, unchanged
        timm_train_one_epoch(epoch, model, loader_train, task, optimizer, args, mixup_fn)
        count, last_images = timm_validate(model, loader_eval, torch.nn.CrossEntropyLoss(), args)
        rows.append(count)
        torch.save(loader_sada.state_dict(), os.path.join(output_dir, "sada-last.pth"))  # the save line
    return loader_sada, rows, last_images


@pytest.mark.parametrize("prefetcher,mixup", [(True, False), (False, True)])
def test_timm_train_one_epoch_runs_two_epochs_with_its_set_loader_epoch(data, tmp_path, prefetcher, mixup):
    sada, rows, images = timm_main(data, tmp_path, prefetcher=prefetcher, mixup=mixup, start_epoch=3)
    assert rows == [NUM_VAL, NUM_VAL]
    assert sada.epoch == 5  # epochs 3 and 4 were read: _set_loader_epoch took effect
    estimator = sada.estimator
    assert estimator.epoch == 1 and np.all(estimator.state_dict()["seen"] == 2)
    resumed = SADALoader(
        data / "train", BATCH, device="cpu", image_size=SIZE, pairs=True, estimator=True, num_classes=HEAD,
        normalize=not prefetcher, **TEST_ONLY,
    )  # fmt: skip
    resumed.load_state_dict(torch.load(tmp_path / "sada-last.pth"))  # the restore line
    assert resumed.epoch == 5 and np.array_equal(resumed.estimator.strengths, estimator.strengths)
    if prefetcher:  # PrefetchLoader normalised the uint8 images once
        assert images.dtype == torch.float32
        plain = SADALoader(data / "val", NUM_VAL, train=False, device="cpu", image_size=SIZE, **TEST_ONLY)
        torch.testing.assert_close(images, next(iter(plain))[0], atol=1e-4, rtol=1e-4)
        assert abs(float(images.mean())) < 0.5 and 0.7 < float(images.std()) < 1.6


# ---- NVIDIA DeepLearningExamples, PyTorch/Classification/ConvNets ----------------------------------


class DLEWrapper:
    """The job of DLE's ``DALIWrapper``: ``(input, target)`` pairs, one-hot targets on request,
    ``reset()`` after each pass."""

    def __init__(self, dalipipeline, num_classes, one_hot, memory_format):
        self.dalipipeline, self.num_classes = dalipipeline, num_classes
        self.one_hot, self.memory_format = one_hot, memory_format

    def __iter__(self):
        for data in self.dalipipeline:
            input = data[0]["data"].contiguous(memory_format=self.memory_format)
            target = torch.reshape(data[0]["label"], [-1]).long()
            if self.one_hot:
                target = torch.zeros(target.size(0), self.num_classes).scatter(1, target.unsqueeze(1), 1.0)
            yield input, target
        self.dalipipeline.reset()


class DLEMixUp:
    """DLE's ``MixUpWrapper`` (``.dataloader``): mixes inputs and one-hot targets of each batch."""

    def __init__(self, alpha, num_classes, dataloader):
        self.alpha, self.num_classes, self.dataloader = alpha, num_classes, dataloader

    def __iter__(self):
        generator = torch.Generator().manual_seed(0)
        for input, target in self.dataloader:
            c = float(np.random.default_rng(0).beta(self.alpha, self.alpha))
            perm = torch.randperm(input.size(0), generator=generator)
            yield c * input + (1 - c) * input[perm], c * target + (1 - c) * target[perm]


def dle_get_dali_loader(train):
    def get_loader(
        data_path, image_size, batch_size, num_classes, one_hot, start_epoch=0, workers=5, **kwargs
    ):
        rank, world_size = 0, 1  # torch.distributed is not initialised
        loader = SADAClassificationIterator(
            os.path.join(data_path, "train" if train else "val"), batch_size, device="cpu",
            num_threads=workers, image_size=image_size, shard_id=rank, num_shards=world_size,
            reader_name="Reader", fill_last_batch=False, train=train,
            **(dict(estimator=True, num_classes=num_classes) if train else {}), **TEST_ONLY,
        )  # fmt: skip
        loader.set_epoch(start_epoch)
        return DLEWrapper(loader, num_classes, one_hot, kwargs["memory_format"]), len(loader)

    return get_loader


class DLEExecutor:
    """DLE's Executor: the training step returns the loss only, never the logits."""

    def __init__(self, model, loss):
        self.model, self.loss = model, loss

    def forward_backward(self, input, target):
        loss = self.loss(self.model(input), target)
        loss.backward()
        return loss


def dle_train(train_step, train_loader):
    for i, (input, target) in enumerate(train_loader):
        train_step(input, target)


def dle_validate(infer_fn, val_loader):
    rows = 0
    for i, (input, target) in enumerate(val_loader):
        with torch.no_grad():
            infer_fn(input)
        rows += input.size(0)
    return rows


def dle_main(data, checkpoint_path, end_epoch, *, mixup=False, resume=False):
    start_epoch, checkpoint = 0, None
    if resume:
        checkpoint = torch.load(checkpoint_path)
        start_epoch = checkpoint["epoch"]
    model = tiny_model()
    if checkpoint is not None:
        model.load_state_dict(checkpoint["state_dict"])
    executor = DLEExecutor(model, torch.nn.CrossEntropyLoss())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fmt = dict(memory_format=torch.contiguous_format)
    train_loader, train_loader_len = dle_get_dali_loader(True)(
        data, SIZE, BATCH, HEAD, mixup, start_epoch=start_epoch, workers=1, **fmt
    )
    # the two added lines: the SADA iterator inside the wrapper, and a forward hook that feeds it
    sada = train_loader.dalipipeline
    executor.model.register_forward_hook(lambda m, i, out: sada.feed(out.detach()) if m.training else None)
    if start_epoch:
        sada.load_state_dict(checkpoint["sada"])  # the restore line
    if mixup:
        train_loader = DLEMixUp(0.2, HEAD, train_loader)
    val_loader, _ = dle_get_dali_loader(False)(data, SIZE, BATCH, HEAD, False, workers=1, **fmt)

    def train_step(input, target):
        loss = executor.forward_backward(input, target)
        optimizer.step()
        optimizer.zero_grad()
        return loss

    rows = []
    for epoch in range(start_epoch, end_epoch):
        executor.model.train()
        dle_train(train_step, train_loader)
        executor.model.eval()
        rows.append(dle_validate(executor.model, val_loader))
        checkpoint_state = {
            "epoch": epoch + 1,
            "best_prec1": 0.0,
            "state_dict": executor.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "sada": getattr(train_loader, "dataloader", train_loader).dalipipeline.state_dict(),  # save
        }
        torch.save(checkpoint_state, checkpoint_path)
    return sada, train_loader_len, rows


@pytest.mark.filterwarnings("ignore:The `fill_last_batch` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("mixup", [False, True])
def test_dle_get_dali_train_loader_runs_two_epochs_fed_by_a_forward_hook(data, tmp_path, mixup):
    sada, length, rows = dle_main(data, tmp_path / "checkpoint.pth.tar", 2, mixup=mixup)
    assert length == 3 and rows == [NUM_VAL, NUM_VAL]
    assert sada.estimator.epoch == 1 and np.all(sada.estimator.state_dict()["seen"] == 2)
    assert sada.last_batch_policy == LastBatchPolicy.PARTIAL  # fill_last_batch=False, DALI's meaning

    dle_main(data, tmp_path / "part.pth.tar", 1, mixup=mixup)
    resumed, _, resumed_rows = dle_main(data, tmp_path / "part.pth.tar", 2, mixup=mixup, resume=True)
    assert resumed_rows == [NUM_VAL] and resumed.epoch == 2
    assert np.all(resumed.estimator.state_dict()["seen"] == 2)  # epoch 0's statistics carried over
