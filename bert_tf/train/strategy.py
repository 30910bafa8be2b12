"""Where training runs: pick a distribution strategy and say what was picked.

TensorFlow backend (`tf.distribute`):

| `--strategy` | engine |
|---|---|
| `cpu` | `OneDeviceStrategy("/cpu:0")` |
| `gpu` | `OneDeviceStrategy("/gpu:0")` |
| `mirrored` | `MirroredStrategy` over all GPUs (or all logical CPUs when there is no GPU) |
| `multiworker` | `MultiWorkerMirroredStrategy`, cluster from `TF_CONFIG` |
| `tpu` | `TPUStrategy` on `TPUClusterResolver(tpu="local")` (Colab / Cloud TPU VMs) |
| `auto` | `TF_CONFIG` with several workers → multiworker; a TPU VM → tpu; >1 GPU → mirrored; 1 GPU → gpu; else cpu |

JAX backend (`keras.distribution`): `keras.distribution.initialize()` when several processes
are configured (`JAX_COORDINATOR_ADDRESS`, `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`, or a Cloud
TPU pod), then `keras.distribution.DataParallel` over every device of the chosen kind when
there is more than one. On a Colab TPU VM, `--strategy tpu` (or `auto`) with
`KERAS_BACKEND=jax` is the path keras.io recommends.

On Colab TPU with TensorFlow: install `tensorflow-tpu` matching TF 2.21, then
`bert-tf pretrain --strategy tpu ...`. The TPU path shares everything else (model built in
`scope()`, global batch split over replicas, `drop_remainder=True` static shapes) with the
mirrored path, which is what the tests exercise on CPU.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multiworker", "tpu")


class StrategyError(ValueError):
    """The requested strategy cannot run on this machine (one line, names what is missing)."""


@dataclass
class Placement:
    """The chosen strategy: what to build models under and how many replicas share a batch."""

    name: str
    backend: str
    num_replicas: int
    description: str
    strategy: object = None  # a tf.distribute.Strategy (TF backend) or None
    distribution: object = None  # a keras.distribution.Distribution (JAX backend) or None
    is_chief: bool = True
    worker_index: int = 0
    num_workers: int = 1
    notes: list = field(default_factory=list)

    def scope(self):
        """Context to build and compile models in."""
        if self.strategy is not None:
            return self.strategy.scope()
        return contextlib.nullcontext()

    def check_batch_size(self, global_batch_size: int) -> int:
        """The per-replica batch; raises StrategyError when it does not divide evenly."""
        if global_batch_size % self.num_replicas:
            raise StrategyError(
                f"batch size {global_batch_size} is not divisible by the {self.num_replicas} "
                f"replicas of strategy '{self.name}'; use a multiple of {self.num_replicas}"
            )
        return global_batch_size // self.num_replicas


def _tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise StrategyError(f"TF_CONFIG is not valid JSON: {err}") from None


def _num_tf_config_workers(cfg: dict) -> int:
    cluster = cfg.get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def _on_tpu_vm() -> bool:
    return bool(
        os.environ.get("TPU_NAME")
        or os.environ.get("COLAB_TPU_ADDR")
        or os.environ.get("TPU_ACCELERATOR_TYPE")
        or os.path.exists("/dev/accel0")
        or os.path.exists("/dev/vfio/0")
    )


def resolve(name: str = "auto") -> Placement:
    """Create the strategy `name` (one of STRATEGIES) for the current Keras backend."""
    if name not in STRATEGIES:
        raise StrategyError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _resolve_tf(name)
    if backend == "jax":
        return _resolve_jax(name)
    raise StrategyError(f"backend {backend!r} is not supported for training; use tensorflow or jax")


def _resolve_tf(name: str) -> Placement:
    import tensorflow as tf

    cfg = _tf_config()
    if name == "auto":
        gpus = tf.config.list_physical_devices("GPU")
        if _num_tf_config_workers(cfg) > 1:
            name, why = "multiworker", "TF_CONFIG lists several workers"
        elif _on_tpu_vm():
            name, why = "tpu", "a TPU is attached"
        elif len(gpus) > 1:
            name, why = "mirrored", f"{len(gpus)} GPUs found"
        elif len(gpus) == 1:
            name, why = "gpu", "1 GPU found"
        else:
            name, why = "cpu", "no GPU or TPU found"
        placement = _resolve_tf(name)
        placement.description = f"auto → {placement.description} ({why})"
        return placement

    if name == "cpu":
        s = tf.distribute.OneDeviceStrategy("/cpu:0")
        return Placement("cpu", "tensorflow", 1, "OneDeviceStrategy(/cpu:0)", strategy=s)
    if name == "gpu":
        if not tf.config.list_physical_devices("GPU"):
            raise StrategyError("--strategy gpu: TensorFlow sees no GPU on this machine")
        s = tf.distribute.OneDeviceStrategy("/gpu:0")
        return Placement("gpu", "tensorflow", 1, "OneDeviceStrategy(/gpu:0)", strategy=s)
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        s = tf.distribute.MirroredStrategy(devices=devices)
        kind = "GPU" if gpus else "CPU"
        return Placement(
            "mirrored",
            "tensorflow",
            s.num_replicas_in_sync,
            f"MirroredStrategy over {s.num_replicas_in_sync} {kind} device(s)",
            strategy=s,
        )
    if name == "multiworker":
        n_workers = _num_tf_config_workers(cfg)
        task = cfg.get("task", {})
        s = tf.distribute.MultiWorkerMirroredStrategy()
        task_type, index = task.get("type", "worker"), int(task.get("index", 0))
        is_chief = task_type == "chief" or (task_type == "worker" and index == 0 and not
                                            cfg.get("cluster", {}).get("chief"))
        return Placement(
            "multiworker",
            "tensorflow",
            s.num_replicas_in_sync,
            f"MultiWorkerMirroredStrategy: {max(n_workers, 1)} worker(s), "
            f"{s.num_replicas_in_sync} replica(s), this is {task_type} {index}",
            strategy=s,
            is_chief=is_chief,
            worker_index=index,
            num_workers=max(n_workers, 1),
        )
    # tpu
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StrategyError(
            f"--strategy tpu: no TPU reachable with TPUClusterResolver(tpu='local') ({first}); "
            "on Colab pick a TPU runtime and install tensorflow-tpu, or use KERAS_BACKEND=jax"
        ) from None
    s = tf.distribute.TPUStrategy(resolver)
    return Placement(
        "tpu", "tensorflow", s.num_replicas_in_sync,
        f"TPUStrategy over {s.num_replicas_in_sync} TPU core(s)", strategy=s,
    )


def _jax_multiprocess_configured() -> bool:
    return bool(
        os.environ.get("JAX_COORDINATOR_ADDRESS")
        or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
        or int(os.environ.get("JAX_NUM_PROCESSES", "1") or 1) > 1
    )


def _resolve_jax(name: str) -> Placement:
    import jax
    import keras

    notes = []
    if name == "multiworker" or (name in ("auto", "tpu") and _jax_multiprocess_configured()):
        if not _jax_multiprocess_configured() and name == "multiworker":
            raise StrategyError(
                "--strategy multiworker on JAX needs JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES "
                "and JAX_PROCESS_ID (or KERAS_DISTRIBUTION_JOB_ADDRESSES/_NUM_PROCESSES/"
                "_PROCESS_ID) in the environment"
            )
        keras.distribution.initialize(
            job_addresses=os.environ.get("JAX_COORDINATOR_ADDRESS") or None,
            num_processes=int(os.environ["JAX_NUM_PROCESSES"])
            if os.environ.get("JAX_NUM_PROCESSES") else None,
            process_id=int(os.environ["JAX_PROCESS_ID"])
            if os.environ.get("JAX_PROCESS_ID") else None,
        )
        notes.append(f"jax multi-process: process {jax.process_index()} of {jax.process_count()}")

    platform = jax.default_backend()  # "cpu", "gpu" or "tpu"
    if name == "gpu" and platform != "gpu":
        raise StrategyError("--strategy gpu: JAX sees no GPU on this machine")
    if name == "tpu" and platform != "tpu":
        raise StrategyError(
            "--strategy tpu: JAX sees no TPU (on Colab pick a TPU runtime and install jax[tpu])"
        )
    kind = "cpu" if name == "cpu" else platform
    devices = jax.devices(kind)
    single = name == "cpu" or len(devices) == 1
    if single:
        keras.distribution.set_distribution(None)
        desc = f"single {kind.upper()} device (JAX)"
        if name == "auto":
            desc = f"auto → {desc}"
        return Placement(
            "cpu" if kind == "cpu" else kind, "jax", 1, desc, notes=notes,
        )
    mesh_devices = [f"{d.platform}:{d.id}" for d in devices]
    dist = keras.distribution.DataParallel(devices=mesh_devices)
    keras.distribution.set_distribution(dist)
    desc = f"keras.distribution.DataParallel over {len(devices)} {kind.upper()} device(s)"
    if jax.process_count() > 1:
        desc += f" in {jax.process_count()} processes"
    if name == "auto":
        desc = f"auto → {desc}"
    return Placement(
        name if name != "auto" else "data_parallel",
        "jax",
        len(devices),
        desc,
        distribution=dist,
        is_chief=jax.process_index() == 0,
        worker_index=jax.process_index(),
        num_workers=jax.process_count(),
        notes=notes,
    )


def _local_symbolic_build(model, iterator=None, data_batch=None):
    """`TensorFlowTrainer._maybe_symbolic_build` without the cross-replica reduce."""
    import tensorflow as tf
    from keras import tree

    strategy = model.distribute_strategy
    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            data_batch = tree.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v,
                batch,
            )
            break
    with strategy.scope():
        model._symbolic_build(data_batch=data_batch)


def apply_keras_workarounds(model, placement: Placement) -> None:
    """Work around Keras 3.15 + tf.distribute (several replicas) in `fit`/`evaluate`.

    Keras' TF trainer builds metrics before the first step from one batch of the distributed
    iterator, which it first averages across replicas with `strategy.reduce("MEAN", batch)`
    (`TensorFlowTrainer._maybe_symbolic_build`). Under MultiWorkerMirroredStrategy that
    collective reduce of the input batch fails with
    `ValueError: Attempt to convert a value (PerReplica:{...}) ... to a Tensor`. Under
    MirroredStrategy it succeeds but turns integer inputs into float64 means, so a model whose
    first layer needs integer ids (`BertEmbeddings` gathers with them) fails to build:
    `Value passed to parameter 'indices' has DataType float32`. The build only needs shapes
    and dtypes, so this replaces it, on this model instance only, by a build from the local
    replica's batch, for every TF strategy with several replicas. Training itself (gradients
    all-reduced by the strategy) is untouched; tests/test_train_distributed.py checks the
    loss against one device.

    Second bug, MultiWorkerMirroredStrategy only: after each step Keras reduces the logs with
    `strategy.reduce("MEAN", value, axis=0)` (`reduce_per_replica`, the multi-worker branch),
    which fails on the scalar metric values with `Invalid reduction dimension 0 for input with
    0 dimensions`. The train/test steps of this instance return every log value with a
    leading axis of length 1, so that reduce averages over replicas and returns a scalar.
    """
    import types

    if placement.backend != "tensorflow":
        return
    if placement.num_replicas > 1 or placement.name == "multiworker":
        model._maybe_symbolic_build = types.MethodType(_local_symbolic_build, model)
    if placement.name == "multiworker":
        cls = type(model)

        def _rank1(logs):
            from keras import ops

            return {k: ops.reshape(v, (1,)) for k, v in logs.items()}

        model.train_step = types.MethodType(lambda self, d: _rank1(cls.train_step(self, d)), model)
        model.test_step = types.MethodType(lambda self, d: _rank1(cls.test_step(self, d)), model)


def resolve_jit_compile(requested, placement: Placement, model) -> bool | str:
    """XLA where it helps. Keras' `jit_compile="auto"` turns XLA off on CPU-only TensorFlow
    machines and under any tf.distribute strategy (even OneDeviceStrategy); on one device
    XLA is faster for BERT on CPU too (DESIGN.md §7), so "auto" here means: on for a single
    TF device when every layer supports it, off for several TF replicas (as Keras does), off
    for TPUStrategy (which compiles with XLA anyway), and Keras' own "auto" on JAX."""
    if requested != "auto":
        return bool(requested)
    if placement.backend != "tensorflow":
        return "auto"
    if placement.num_replicas > 1 or placement.name == "tpu":
        return False
    from keras.src.trainers.trainer import model_supports_jit

    return bool(model_supports_jit(model))
