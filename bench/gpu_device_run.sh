#!/usr/bin/env bash
# bench/gpu_pretrain.py on a GPU machine that has JAX but no Keras and no internet, such as
# the course's lent H100/H200 image (Python 3.12, jax 0.11 with CUDA, no Keras/namex/optree).
#
#   bench/gpu_device_run.sh download          # here, with PyPI: wheels into .whl/ (git-ignored)
#   bench/gpu_device_run.sh run [ARGS...]      # there, with .whl/ carried along: install, then
#                                              # the bench at batch 256 (or ARGS) and batch 512
# Output goes to stdout and, where $OUT is set, to $OUT/gpu_pretrain.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

case "${1:-}" in
download)
    rm -rf .whl
    "$PY" -m pip download --quiet --only-binary=:all: --no-deps --python-version 3.12 \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl keras==3.15.1 namex optree
    ls -l .whl
    ;;
run)
    shift
    "$PY" -m pip install --quiet --no-index --no-deps --find-links .whl keras namex optree
    log=${OUT:-/tmp}/gpu_pretrain.log
    export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
    {
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
        "$PY" -c "import jax; print('jax', jax.__version__, jax.devices())"
        if [ $# -gt 0 ]; then
            "$PY" bench/gpu_pretrain.py "$@"
        else
            "$PY" bench/gpu_pretrain.py --batch 256
            "$PY" bench/gpu_pretrain.py --batch 512
        fi
    } 2>&1 | tee "$log"
    ;;
*)
    echo "usage: $0 download | run [gpu_pretrain.py args]" >&2
    exit 2
    ;;
esac
