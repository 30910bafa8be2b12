from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = 2

@test_case(points=None, hidden=False)
def test_count_bert_parameters(count_bert_parameters):
    from bert_tf import BertConfig, BertModel, BertPretrainer
    from course.grading.checks import random_inputs, without
    assert callable(count_bert_parameters), 'define count_bert_parameters above and run its cell'
    seed, rng = random_inputs()
    for _ in range(2):
        heads = int(rng.integers(1, 4))
        c = BertConfig(vocab_size=int(rng.integers(5, 300)), hidden_size=heads * int(rng.integers(1, 9)), num_layers=int(rng.integers(1, 4)), num_heads=heads, intermediate_size=int(rng.integers(1, 50)), max_position_embeddings=int(rng.integers(1, 40)), type_vocab_size=int(rng.integers(1, 4)))
        want, want_heads = (BertModel(c).count_params(), BertPretrainer(c).count_params())
        with without('bert_tf.models.bert.BertModel.__init__', 'bert_tf.models.pretrainer.BertPretrainer.__init__'):
            got = count_bert_parameters(c)
            got_heads = count_bert_parameters(c, pretraining_heads=True)
        assert got is not None and got_heads is not None, 'return the number of parameters'
        assert int(got) == want, f'{c}: BertModel has {want:,} parameters, you counted {int(got):,} (off by {int(got) - want:+,}; seed {seed})'
        assert int(got_heads) == want_heads, f'{c}: BertPretrainer has {want_heads:,} parameters (the heads add {want_heads - want:,}), you counted {int(got_heads):,} (seed {seed})'

