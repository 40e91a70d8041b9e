"""Define a DALI pipeline's graph on a machine without a GPU and check where each operator runs.

DALI 2.4 checks some things while a graph is *defined* (a ``@pipeline_def`` function does that
when called): argument names and types, that argument inputs are CPU nodes, that each regular
input lies on a device its operator accepts. Whether an operator has a backend for the device
it asks for is checked only at ``build()``, which needs CUDA as soon as one operator is "gpu"
or "mixed". :func:`check_gpu_graph` defines a graph without building it, then checks every
operator against DALI's registry of backends (``nvidia.dali.ops.cpu_ops()``, ``gpu_ops()``,
``mixed_ops()``) and every input's placement again.

This is the test suite's only use of DALI's private API: ``Pipeline._build_graph`` and
``Pipeline._ops`` (the operator instances), each instance's ``_op`` (``device``, ``schema``)
and ``spec`` (its inputs and outputs).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace

from sada_dali.data._reader import SampleReader

__all__ = [
    "GraphError",
    "GraphOp",
    "Graph",
    "GraphReader",
    "define_graph",
    "placement_errors",
    "check_gpu_graph",
]


class GraphError(AssertionError):
    """A graph DALI refused to define, or one whose operators would not build on a GPU."""


@dataclass(frozen=True)
class GraphOp:
    """One operator instance: its name, schema, device and the (node, device) of its inputs and
    outputs (a node copied to the GPU keeps its name, so a node is the pair)."""

    name: str
    schema: str
    device: str
    inputs: tuple = ()  # regular inputs
    arg_inputs: tuple = ()  # named argument inputs
    outputs: tuple = ()


@dataclass(frozen=True)
class Graph:
    """A defined graph: its operators and its outputs' (node, device)."""

    ops: tuple
    outputs: tuple = ()

    def find(self, schema: str) -> list:
        """The operators of one schema (e.g. "decoders__ImageSlice")."""
        return [op for op in self.ops if op.schema == schema]

    def downstream(self, node: tuple) -> list:
        """Every operator that reads ``node`` (name, device), directly or through others."""
        readers, seen, queue = [], {node}, deque([node])
        while queue:
            current = queue.popleft()
            for op in self.ops:
                if op not in readers and current in op.inputs + op.arg_inputs:
                    readers.append(op)
                    queue.extend(out for out in op.outputs if out not in seen)
                    seen.update(op.outputs)
        return readers

    def host_reads(self) -> list:
        """The CPU operators that read a GPU node: each a GPU-to-CPU step, legal in DALI 2.4's
        dynamic executor but a wait on the GPU in every batch."""
        return [op for op in self.ops if op.device == "cpu" and any(d == "gpu" for _, d in op.inputs)]


class GraphReader:
    """Stands in for a :class:`~sada_dali.data._reader.SampleReader` while a graph is defined:
    the same outputs (the real ``output_names``), never read."""

    output_names, fed_groups = SampleReader.output_names, SampleReader.fed_groups
    columns, split_groups = SampleReader.columns, SampleReader.split_groups

    def __init__(self, *, augments: bool, batch_size: int = 8):
        self.augments, self.batch_size = augments, batch_size
        self.sampler = SimpleNamespace(batch_size=batch_size)

    def __call__(self, sample_info):
        raise AssertionError("a GraphReader only defines graphs; it is never read")

    read_batch = __call__


def define_graph(create) -> Graph:
    """Call ``create()`` (which returns a pipeline, its graph defined) and list the graph.

    Raises
    ------
    GraphError
        With DALI's message, if DALI refuses the definition (an unknown argument, a GPU
        argument input, an input on a device its operator cannot read).
    """
    try:
        pipe = create()
        pipe._build_graph()
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise GraphError(f"DALI refused the graph: {type(exc).__name__}: {exc}") from exc
    ops = []
    for instance in pipe._ops:
        spec, operator = instance.spec, instance._op
        nodes = [(spec.InputName(i), spec.InputDevice(i)) for i in range(spec.NumInput())]
        regular = spec.NumRegularInput()
        ops.append(
            GraphOp(
                name=instance.name,
                schema=operator.schema.Name(),
                device=operator.device,
                inputs=tuple(nodes[:regular]),
                arg_inputs=tuple(nodes[regular:]),
                outputs=tuple((spec.OutputName(i), spec.OutputDevice(i)) for i in range(spec.NumOutput())),
            )
        )
    outputs = tuple((node.name, node.device) for node in pipe._graph_outputs)
    return Graph(tuple(ops), outputs)


def placement_errors(graph: Graph) -> list[str]:
    """What would stop ``graph`` from building: an operator without a backend for its device
    in DALI's registry, an argument input off the CPU, a regular input on a device the
    operator's schema does not accept (one line each; empty when all is well)."""
    from nvidia.dali import backend, ops

    registry = {"cpu": ops.cpu_ops(), "gpu": ops.gpu_ops(), "mixed": ops.mixed_ops()}
    errors = []
    for op in graph.ops:
        if op.schema not in registry.get(op.device, ()):
            has = [device for device, names in registry.items() if op.schema in names]
            errors.append(
                f"{op.name}: {op.schema} asks for the {op.device!r} backend, which DALI does not "
                f"have (it has: {', '.join(has) or 'none'})"
            )
        for node, device in op.arg_inputs:
            if device != "cpu":
                errors.append(f"{op.name}: argument input {node} is on {device!r}; DALI reads them on 'cpu'")
        schema = backend.GetSchema(op.schema)
        for i, (node, device) in enumerate(op.inputs):
            wanted = schema.GetInputDevice(i, device, op.device) or ("gpu" if op.device == "gpu" else "cpu")
            wanted = "cpu" if wanted == "mixed" else wanted  # a mixed operator reads host data
            if device != wanted:
                errors.append(
                    f"{op.name}: input {i} ({node}) is on {device!r}; {op.schema} reads it on {wanted!r}"
                )
    return errors


def check_gpu_graph(create) -> Graph:
    """Define the graph of ``create()`` without building it and check that it builds on a GPU.

    Returns
    -------
    Graph
        For the caller's own assertions (which operator runs where).

    Raises
    ------
    GraphError
        If DALI refuses the definition, if :func:`placement_errors` finds anything (all of it
        is listed), or if neither an operator nor an output is on the GPU (not a GPU graph).
    """
    graph = define_graph(create)
    errors = placement_errors(graph)
    if errors:
        raise GraphError("the graph would not build on a GPU:\n  " + "\n  ".join(errors))
    on_gpu = [op for op in graph.ops if op.device in ("gpu", "mixed")] + [
        d for _, d in graph.outputs if d == "gpu"
    ]
    if not on_gpu:
        raise GraphError(
            "the graph has no 'gpu' or 'mixed' operator and no GPU output: it is not a GPU graph"
        )
    return graph
