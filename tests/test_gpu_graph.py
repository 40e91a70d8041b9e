"""Every pipeline sada-dali builds with device="gpu", defined on the CPU with device_id=0 and
never built: each operator has a DALI backend for the device it asks for, argument inputs are
CPU nodes, the decoder is nvJPEG's "mixed" one and every op after it runs on the GPU (see
tests/_gpu_graph.py). Then the checker itself, on graphs it must refuse."""

from dataclasses import replace

import pytest
from _gpu_graph import (
    Graph,
    GraphError,
    GraphOp,
    GraphReader,
    check_gpu_graph,
    define_graph,
    placement_errors,
)

from sada_dali.augment import _define_pipeline, _resolve_spec
from sada_dali.cli._bench_rows import create_trivial_augment_pipeline
from sada_dali.loader._build import PipelineOptions, create_loader_pipeline
from sada_dali.loader._recovery import DecodeProbe
from sada_dali.op_space import DEFAULT_NUM_MAGNITUDE_BINS, OPS, create_op_space

OPTIONS = PipelineOptions(
    train=True,
    device="gpu",
    device_id=0,
    seed=0,
    num_threads=2,
    workers=2,
    prefetch_queue_depth=2,
    image_size=224,
    op_space=create_op_space(),
    num_magnitude_bins=DEFAULT_NUM_MAGNITUDE_BINS,
    fp16=False,
    hw_decoder_load=0.65,
)


def assert_images_stay_on_the_gpu(graph: Graph, decoder: str) -> None:
    (op,) = graph.find(decoder)
    assert op.device == "mixed"
    assert [after.name for after in graph.downstream(op.outputs[0]) if after.device != "gpu"] == []
    assert graph.host_reads() == []


def loader_graph(**options):
    options = replace(OPTIONS, **options)
    reader = GraphReader(augments=options.train, batch_size=8)
    return check_gpu_graph(lambda: create_loader_pipeline(reader, options))


UINT8 = pytest.param(
    {"normalize": False},
    id="uint8",
    marks=pytest.mark.skipif(
        "normalize" not in PipelineOptions.__dataclass_fields__, reason="no normalize=False in this branch"
    ),
)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="fp32"),
        pytest.param({"fp16": True}, id="fp16"),
        UINT8,
        pytest.param({"op_space": create_op_space(translate_relative=0.3)}, id="relative-translate"),
    ],
)
def test_gpu_graph_of_the_train_pipeline_decodes_the_crop_with_nvjpeg_and_augments_on_the_gpu(options):
    graph = loader_graph(**options)
    assert_images_stay_on_the_gpu(graph, "decoders__ImageSlice")
    assert [device for _, device in graph.outputs] == [
        "gpu",
        "gpu",
        "gpu",
        "cpu",
    ]  # images, labels, indices, valid
    assert {op.schema for op in graph.ops} >= {
        "Rotate",
        "WarpAffine",
        "Equalize",
        "Filter",
        "CropMirrorNormalize",
    }


@pytest.mark.parametrize(
    "options", [pytest.param({}, id="fp32"), pytest.param({"fp16": True}, id="fp16"), UINT8]
)
def test_gpu_graph_of_the_val_pipeline_decodes_with_nvjpeg_and_resizes_on_the_gpu(options):
    graph = loader_graph(train=False, **options)
    assert_images_stay_on_the_gpu(graph, "decoders__Image")
    assert [device for _, device in graph.outputs] == ["gpu", "gpu", "gpu", "cpu"]


@pytest.mark.parametrize("crop", [True, False], ids=["train", "val"])
def test_gpu_graph_of_the_recovery_probe_uses_the_loaders_mixed_decoder(crop):
    probe = DecodeProbe(
        device="gpu", device_id=0, hw_decoder_load=0.65, num_threads=1, max_batch=8, crop=crop
    )
    graph = check_gpu_graph(probe._define)
    assert_images_stay_on_the_gpu(graph, "decoders__ImageSlice" if crop else "decoders__Image")
    assert graph.outputs[0][1] == "gpu"


@pytest.mark.parametrize(
    ("op", "relative"), [(op, None) for op in OPS] + [("translate_x", 0.3), ("translate_y", 0.3)]
)
def test_gpu_graph_of_augment_on_the_gpu_runs_the_op_on_the_gpu(op, relative):
    space = create_op_space(translate_relative=relative)
    spec, _ = _resolve_spec(
        op, -space[OPS.index(op)].max_magnitude if space[OPS.index(op)].signed else 0, space
    )
    graph = check_gpu_graph(lambda: _define_pipeline(spec, "gpu", 0, 128, None, 8)[0])
    assert [after.name for after in graph.downstream(("images", "gpu")) if after.device != "gpu"] == []
    assert graph.host_reads() == [] and [device for _, device in graph.outputs] == ["gpu"]


def test_gpu_graph_of_bench_row_2_runs_trivial_augment_wide_on_the_gpu():
    reader = GraphReader(augments=False)
    graph = check_gpu_graph(
        lambda: create_trivial_augment_pipeline(reader, batch_size=8, image_size=224, threads=2)
    )
    assert_images_stay_on_the_gpu(graph, "decoders__ImageRandomCrop")
    assert [device for _, device in graph.outputs] == ["gpu", "cpu"]  # images, labels


def _tiny(body):
    from nvidia.dali import fn, pipeline_def, types

    @pipeline_def(batch_size=2, num_threads=1, device_id=0)
    def tiny():
        encoded = fn.external_source(name="encoded", dtype=types.UINT8, ndim=1)
        return body(fn, encoded)

    return tiny


def test_gpu_graph_checker_passes_a_graph_that_would_build_on_a_gpu():
    graph = check_gpu_graph(_tiny(lambda fn, x: fn.resize(fn.decoders.image(x, device="mixed"), size=[8, 8])))
    assert [(op.schema, op.device) for op in graph.ops] == [
        ("ExternalSource", "cpu"),
        ("decoders__Image", "mixed"),
        ("Resize", "gpu"),
    ]


def test_gpu_graph_checker_catches_a_wrong_argument_name():
    with pytest.raises(GraphError, match='DALI refused the graph: KeyError: .*Argument "siz" is not defined'):
        check_gpu_graph(_tiny(lambda fn, x: fn.resize(fn.decoders.image(x, device="mixed"), siz=[8, 8])))


def test_gpu_graph_checker_catches_a_cpu_only_op_placed_on_the_gpu_that_dali_itself_defines():
    tiny = _tiny(lambda fn, x: fn.peek_image_shape(x.gpu(), device="gpu"))
    assert [op.device for op in define_graph(tiny).ops] == ["cpu", "gpu"]  # DALI alone lets it through
    with pytest.raises(
        GraphError,
        match=r"PeekImageShape asks for the 'gpu' backend, which DALI does not have \(it has: cpu\)",
    ):
        check_gpu_graph(tiny)


def test_gpu_graph_checker_catches_a_gpu_argument_input_and_a_graph_without_gpu_ops():
    with pytest.raises(GraphError, match="argument 'size' .* Named arguments must be on CPU"):
        check_gpu_graph(
            _tiny(
                lambda fn, x: fn.resize(
                    fn.decoders.image(x, device="mixed"), size=fn.peek_image_shape(x).gpu()
                )
            )
        )
    with pytest.raises(
        GraphError, match="no 'gpu' or 'mixed' operator and no GPU output: it is not a GPU graph"
    ):
        check_gpu_graph(_tiny(lambda fn, x: fn.decoders.image(x, device="cpu")))


def test_gpu_graph_host_reads_name_a_cpu_op_reading_gpu_images():
    def body(fn, x):
        images = fn.decoders.image(x, device="mixed")
        return fn.resize(images, size=images.shape()[:2])

    graph = check_gpu_graph(_tiny(body))  # legal in DALI 2.4, so the checker lets it through
    assert [(op.schema, op.device) for op in graph.host_reads()] == [("_Shape", "cpu")]


def test_gpu_graph_placement_lists_every_input_on_the_wrong_device():
    graph = Graph(
        (
            GraphOp("source", "ExternalSource", "cpu", outputs=(("x", "cpu"),)),
            GraphOp("resize", "Resize", "gpu", inputs=(("x", "cpu"),), arg_inputs=(("size", "gpu"),)),
            GraphOp("decode", "decoders__Image", "mixed", inputs=(("y", "gpu"),)),
        )
    )
    assert placement_errors(graph) == [
        "resize: argument input size is on 'gpu'; DALI reads them on 'cpu'",
        "resize: input 0 (x) is on 'cpu'; Resize reads it on 'gpu'",
        "decode: input 0 (y) is on 'gpu'; decoders__Image reads it on 'cpu'",
    ]
