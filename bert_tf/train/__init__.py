"""Training BERT: optimizer and schedule, losses and metrics, distribution strategies,
checkpoints, and the pretraining / fine-tuning drivers behind `bert-tf pretrain|finetune`.

Import the submodules you need (`bert_tf.train.optimization`, `.strategy`, `.checkpointing`,
`.losses`, `.loop`, `.pretrain`, `.finetune`); this package itself imports nothing heavy.
"""
