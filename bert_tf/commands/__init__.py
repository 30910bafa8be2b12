"""Subcommands of `bert-tf`: one module each, discovered by `bert_tf.cli`."""
