"""Errors the library raises for bad input. Each message names the file, line or tensor."""


class BertTfError(Exception):
    """Base class: a problem with the user's input or files, not a bug."""


class CheckpointError(BertTfError):
    """A checkpoint cannot be loaded into a model (missing tensor, wrong shape, unknown format)."""


class DataError(BertTfError):
    """Input text or data files are malformed (names the file and line)."""
