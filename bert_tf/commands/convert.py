"""`bert-tf convert SOURCE OUTPUT`: any supported BERT checkpoint -> the bert_tf format."""

from __future__ import annotations

HELP = ("convert a BERT checkpoint (Hugging Face safetensors dir, original Google TF1 "
        "checkpoint, keras-hub preset, bert_tf) into the bert_tf format")

FORMATS = ("bert_tf", "huggingface", "google", "keras_hub")  # = bert_tf.checkpoints.FORMATS


def add_arguments(parser) -> None:
    parser.add_argument("source", help="checkpoint directory (or a Google .ckpt prefix)")
    parser.add_argument("output", help="directory to write (config.json + model.safetensors)")
    parser.add_argument("--from", dest="fmt", choices=FORMATS, default=None,
                        help="source format (default: detected from the files)")
    parser.add_argument("--force", action="store_true",
                        help="replace OUTPUT if it already is a bert_tf checkpoint")


def run(args) -> int:
    import os
    import warnings

    from bert_tf.cli import UserError

    if not (os.path.exists(args.source) or os.path.exists(args.source + ".index")):
        raise UserError(f"{args.source}: no such file or directory")

    from bert_tf.checkpoints import convert  # imports Keras: only now
    from bert_tf.errors import CheckpointError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info = convert(args.source, args.output, fmt=args.fmt, overwrite=args.force)
        except CheckpointError as err:
            raise UserError(str(err)) from None
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"warning: {w.message}")
    c = info["config"]
    heads = "with MLM/NSP heads" if info["heads"] else "encoder only"
    print(f"converted {info['format']} checkpoint {args.source} -> {args.output}: "
          f"{c.num_layers} layers, hidden {c.hidden_size}, {c.activation}, "
          f"{info['tensors']} tensors, {heads}")
    return 0
