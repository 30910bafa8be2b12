from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = 3

@test_case(points=None, hidden=False)
def test_nsp_pair_invariants(nsp_pair):
    import numpy as np
    from course.grading.checks import random_inputs
    assert callable(nsp_pair), 'define nsp_pair above and run its cell'
    seed, rng = random_inputs()
    documents, where, next_id = ([], {}, 1)
    for d in range(int(rng.integers(3, 7))):
        doc, flat = ([], 0)
        for _ in range(int(rng.integers(2, 9))):
            n = int(rng.integers(1, 12))
            doc.append(list(range(next_id, next_id + n)))
            for t in range(next_id, next_id + n):
                where[t] = (d, flat)
                flat += 1
            next_id += n
        documents.append(doc)
    labels = []
    for _ in range(600):
        d = int(rng.integers(len(documents)))
        doc = documents[d]
        first = int(rng.integers(0, len(doc) - 1))
        chunk = doc[first:first + int(rng.integers(2, len(doc) - first + 1))]
        max_tokens = int(rng.integers(4, 40))
        got = nsp_pair(documents, d, [list(s) for s in chunk], max_tokens, rng)
        assert got is not None and len(got) == 3, 'return (a, b, label)'
        a, b, label = ([int(t) for t in got[0]], [int(t) for t in got[1]], int(got[2]))
        case = f'document {d}, chunk {chunk}, max_tokens {max_tokens}: you made a = {a}, b = {b}, label {label} (seed {seed})'
        assert label in (0, 1), f'label 0 (IsNext) or 1 (NotNext): {case}'
        assert a and b, f'A and B must both keep at least one token: {case}'
        assert len(a) + len(b) <= max_tokens, f'more than max_tokens ids: {case}'
        assert all((t in where for t in a + b)), f'ids that are not in any document: {case}'
        chunk_ids = [t for s in chunk for t in s]
        boundaries = np.cumsum([len(s) for s in chunk])[:-1].tolist()
        assert all((t in chunk_ids for t in a)), f'A must come from the chunk: {case}'
        assert a == chunk_ids[chunk_ids.index(a[0]):chunk_ids.index(a[0]) + len(a)], f'A must be a contiguous run of the chunk: {case}'
        untouched = len(a) + len(b) < max_tokens
        if untouched:
            assert len(chunk_ids[:chunk_ids.index(a[0]) + len(a)]) in boundaries and a[0] == chunk_ids[0], f'A must be the first k whole sentences of the chunk, 1 <= k < {len(chunk)}: {case}'
        if label == 0:
            assert all((t in chunk_ids for t in b)), f'IsNext: B must be the rest of the chunk: {case}'
            assert b == chunk_ids[chunk_ids.index(b[0]):chunk_ids.index(b[0]) + len(b)], f'IsNext: B must be a contiguous run of the chunk: {case}'
            assert any((chunk_ids.index(a[-1]) < k <= chunk_ids.index(b[0]) for k in boundaries)), f'IsNext: A must end, and B start, on either side of a sentence boundary: {case}'
            if untouched:
                assert a + b == chunk_ids, f'IsNext, nothing truncated: A + B is the whole chunk: {case}'
        else:
            source = {where[t][0] for t in b}
            assert len(source) == 1 and d not in source, f'NotNext: B must come from one other document, got documents {sorted(source)}: {case}'
            r, start = where[b[0]]
            other = [t for s in documents[r] for t in s]
            assert b == other[start:start + len(b)], f'NotNext: B must be a contiguous run: {case}'
            if untouched:
                starts = np.cumsum([0] + [len(s) for s in documents[r]]).tolist()
                assert start in starts and start + len(b) in starts, f'NotNext, nothing truncated: B is whole sentences of document {r}: {case}'
                assert start + len(b) == len(other), f'NotNext: B has {len(b)} ids, fewer than max_tokens - len(A) = {max_tokens - len(a)}, yet document {r} goes on: {case}'
        labels.append(label)
    share = np.mean(labels)
    assert abs(share - 0.5) < 0.1, f'{share:.1%} of {len(labels)} pairs are NotNext, expected about 50% (seed {seed})'

