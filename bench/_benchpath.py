"""Imported first by every benchmark script.

`python bench/x.py` puts bench/ first on sys.path, where `tokenize.py` (the tokenizer benchmark)
would shadow the standard library's `tokenize` module, which numpy and inspect import. Replace
bench/ with the repository root, so a benchmark gets the standard library and this checkout's
`bert_tf`.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [os.path.dirname(_HERE)] + [
    p for p in sys.path if os.path.abspath(p or ".") != _HERE
]
