"""Input pipelines and pretraining data for bert_tf."""
