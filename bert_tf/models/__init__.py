"""Models built from `bert_tf.layers`: the BERT encoder, its pretraining and fine-tuning heads."""
