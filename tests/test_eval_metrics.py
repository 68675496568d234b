"""The evaluation instrument itself: metrics on hand-made cases with known answers."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from remem.embed.cache import CachedEmbedder
from remem.eval.answer_metrics import f1_score, locomo_f1, multi_answer_f1, normalize_answer
from remem.eval.datasets import clean_evidence, locomo_content, parse_lme_date, parse_locomo_date
from remem.eval.metrics import (
    all_at_k,
    dcg,
    lme_metrics,
    locomo_metrics,
    mean_metrics,
    ndcg_any,
    percentile,
    recall_all,
    recall_any,
    recall_at_k,
    sessions_by_best_turn,
)

# ------------------------------------------------------------------ LoCoMo evidence recall


def test_recall_at_k_counts_share_of_gold_in_top_k():
    ranked = ["D1:1", "D2:4", "D1:3", "D3:2"]
    gold = ["D2:4", "D3:2"]
    assert recall_at_k(ranked, gold, 1) == 0.0
    assert recall_at_k(ranked, gold, 2) == 0.5
    assert recall_at_k(ranked, gold, 3) == 0.5
    assert recall_at_k(ranked, gold, 4) == 1.0
    assert all_at_k(ranked, gold, 2) == 0.0
    assert all_at_k(ranked, gold, 4) == 1.0


def test_recall_with_gold_never_retrieved_and_short_ranking():
    assert recall_at_k(["a"], ["a", "zz"], 50) == 0.5
    assert all_at_k(["a"], ["a", "zz"], 50) == 0.0
    assert recall_at_k([], ["a"], 10) == 0.0


def test_locomo_question_without_gold_is_undefined_and_left_out_of_means():
    m = locomo_metrics(["a", "b"], [])
    assert all(v is None for v in m.values())
    means, n = mean_metrics([locomo_metrics(["a", "b"], ["b"]), m, locomo_metrics(["a", "b"], ["a"])])
    assert n == 2
    assert means["recall@1"] == 0.5  # (0 + 1) / 2, the gold-less question not counted
    assert means["recall@5"] == 1.0


def test_locomo_metrics_keys():
    m = locomo_metrics(["x"], ["x"])
    assert set(m) == {f"recall@{k}" for k in (1, 5, 10, 20, 50)} | {f"all@{k}" for k in (1, 5, 10, 20, 50)}


# ------------------------------------------------------------------ LongMemEval


def test_lme_recall_any_all_and_ndcg_known_values():
    ranked = ["x", "g1", "y", "g2", "z"]
    gold = ["g1", "g2"]
    assert recall_any(ranked, gold, 1) == 0.0
    assert recall_any(ranked, gold, 2) == 1.0
    assert recall_all(ranked, gold, 2) == 0.0
    assert recall_all(ranked, gold, 4) == 1.0
    # official DCG: rel1 + sum_{i>=2} rel_i / log2(i): hits at ranks 2 and 4 -> 1/1 + 1/2; ideal 1 + 1/1
    assert ndcg_any(ranked, gold, 4) == pytest.approx(1.5 / 2.0)
    assert ndcg_any(ranked, gold, 1) == 0.0
    assert ndcg_any(["g1", "g2"], gold, 10) == 1.0
    assert dcg([1, 1, 1], 3) == pytest.approx(2 + 1 / math.log2(3))


def test_lme_question_without_gold_follows_the_official_quirk():
    m = lme_metrics(["a", "b", "c"], [])
    for k in (1, 3, 5, 10, 30, 50):
        assert m[f"recall_any@{k}"] == 0.0
        assert m[f"recall_all@{k}"] == 1.0  # all([]) is True in the official code
        assert m[f"ndcg_any@{k}"] == 0.0
    # and it stays in the mean
    means, n = mean_metrics([m, lme_metrics(["g"], ["g"])])
    assert n == 2
    assert means["recall_all@5"] == 1.0
    assert means["recall_any@5"] == 0.5


def _official_ndcg(rankings, correct_docs, corpus_ids, k):
    """Transcription of LongMemEval's eval_utils.ndcg (numpy), for cross-checking."""

    def _dcg(rel, k):
        rel = np.asarray(rel, dtype=float)[:k]
        if rel.size:
            return rel[0] + np.sum(rel[1:] / np.log2(np.arange(2, rel.size + 1)))
        return 0.0

    relevances = [1 if d in correct_docs else 0 for d in corpus_ids]
    actual = _dcg([relevances[i] for i in rankings[:k]], k)
    ideal = _dcg(sorted(relevances, reverse=True), k)
    return 0.0 if ideal == 0 else actual / ideal


def _official_turn2session(rankings, correct_docs, corpus_ids, k):
    strip = lambda d: "_".join(d.split("_")[:-1])  # noqa: E731
    correct = list({strip(x) for x in correct_docs})
    ids = [strip(x) for x in corpus_ids]
    eff = k
    uniq = {ids[i] for i in rankings[:eff]}
    while eff <= len(ids) and len(uniq) < k:
        eff += 1
        uniq = {ids[i] for i in rankings[:eff]}
    top = {ids[i] for i in rankings[:eff]}
    return float(any(d in top for d in correct)), float(all(d in top for d in correct))


def test_ndcg_matches_official_transcription_on_random_cases():
    rng = random.Random(7)
    for _ in range(300):
        corpus = [f"u{i}" for i in range(rng.randint(1, 30))]
        gold = rng.sample(corpus, rng.randint(0, min(5, len(corpus))))
        order = list(range(len(corpus)))
        rng.shuffle(order)
        ranked = [corpus[i] for i in order]
        for k in (1, 3, 5, 10, 30):
            assert ndcg_any(ranked, gold, k) == pytest.approx(_official_ndcg(order, gold, corpus, k))


def test_best_turn_session_ranking_matches_official_turn2session_recall():
    rng = random.Random(11)
    for _ in range(300):
        corpus = [f"answer_s{s}_{t}" if s % 3 == 0 else f"sharegpt_s{s}_{t}" for s in range(rng.randint(1, 8)) for t in range(1, rng.randint(2, 6))]
        gold_turns = [c for c in corpus if c.startswith("answer") and rng.random() < 0.4]
        order = list(range(len(corpus)))
        rng.shuffle(order)
        sessions = sessions_by_best_turn([corpus[i] for i in order])
        gold_sessions = sorted({g.rsplit("_", 1)[0] for g in gold_turns})
        for k in (1, 3, 5, 10):
            any_, all_ = _official_turn2session(order, gold_turns, corpus, k)
            assert recall_any(sessions, gold_sessions, k) == any_
            assert recall_all(sessions, gold_sessions, k) == all_


def test_sessions_by_best_turn_orders_by_first_appearance():
    turns = ["answer_x_1_3", "s2_1", "answer_x_1_1", "s3_2", "s2_4"]
    assert sessions_by_best_turn(turns) == ["answer_x_1", "s2", "s3"]
    assert sessions_by_best_turn(["t1", "t2", "t3"], {"t1": "B", "t2": "A", "t3": "B"}) == ["B", "A"]


def test_percentile():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    assert math.isnan(percentile([], 50))


# ------------------------------------------------------------------ LoCoMo answer F1


def test_normalize_answer_follows_locomo():
    assert normalize_answer("The cat, and a Dog!") == "cat dog"
    assert normalize_answer("  7 May,  2023. ") == "7 may 2023"


def test_f1_uses_porter_stems():
    assert f1_score("running dogs", "the dog runs") == 1.0
    assert f1_score("Paris", "London") == 0.0
    # prediction "berlin germany" vs gold "berlin": precision 1/2, recall 1 -> 2/3
    assert f1_score("Berlin, Germany", "Berlin") == pytest.approx(2 / 3)


def test_locomo_f1_per_category():
    assert multi_answer_f1("Paris, London", "London, Berlin") == pytest.approx(0.5)
    assert locomo_f1("Paris, London", "London, Berlin", 1) == pytest.approx(0.5)
    assert locomo_f1("dog training", "dog training; walking", 3) == 1.0
    assert locomo_f1("dog training", "dog training; walking", 4) < 1.0
    assert locomo_f1("7 May 2023", "7 May, 2023", 2) == 1.0


# ------------------------------------------------------------------ dataset parsing


def test_clean_evidence_fixes_malformed_ids():
    assert clean_evidence(["D8:6; D9:17", "D", "D:11:26", "D30:05", "D9:1 D4:4 D4:6", "D8:6"]) == [
        "D8:6",
        "D9:17",
        "D11:26",
        "D30:5",
        "D9:1",
        "D4:4",
        "D4:6",
    ]
    assert clean_evidence([]) == []


def test_locomo_content_appends_caption():
    assert locomo_content({"text": "Look!", "blip_caption": "a photo of a cat"}) == "Look! [shares a photo: a photo of a cat]"
    assert locomo_content({"text": "Hi"}) == "Hi"


def test_date_parsers():
    d = parse_locomo_date("1:56 pm on 8 May, 2023")
    assert (d.year, d.month, d.day, d.hour, d.minute) == (2023, 5, 8, 13, 56)
    e = parse_lme_date("2023/05/30 (Tue) 23:40")
    assert (e.year, e.month, e.day, e.hour, e.minute) == (2023, 5, 30, 23, 40)
    assert parse_locomo_date("whenever") is None
    assert parse_lme_date("soon") is None


# ------------------------------------------------------------------ embedding cache


class CountingEmbedder:
    model_name = "fake-model"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        out = np.array([[len(t), t.count("a"), t.count("e"), 1.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_cached_embedder_reuses_vectors_across_instances(tmp_path):
    path = tmp_path / "sub" / "emb.sqlite"
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner, path)
    first = cache.embed(["apple", "banana", "apple"])
    assert inner.seen == ["apple", "banana"]  # duplicates embedded once
    assert np.allclose(first[0], first[2])
    assert (cache.hits, cache.misses) == (1, 2)
    cache.close()

    inner2 = CountingEmbedder()
    again = CachedEmbedder(inner2, path)
    second = again.embed(["banana", "cherry", "apple"])
    assert inner2.seen == ["cherry"]
    assert np.allclose(second[0], first[1]) and np.allclose(second[2], first[0])
    assert second.dtype == np.float32 and second.shape == (3, 4)
    assert len(again) == 3
    assert again.embed([]).shape == (0, 4)


def test_cached_embedder_keys_by_model(tmp_path):
    path = tmp_path / "emb.sqlite"
    CachedEmbedder(CountingEmbedder(), path).embed(["same text"])
    other = CountingEmbedder()
    other.model_name = "another-model"
    CachedEmbedder(other, path).embed(["same text"])
    assert other.seen == ["same text"]


def test_cached_embedder_in_memory_and_protocol():
    from remem.embed import Embedder

    cache = CachedEmbedder(CountingEmbedder())
    assert isinstance(cache, Embedder)
    assert cache.model_name == "fake-model" and cache.dim == 4
    cache.embed(["x"])
    cache.embed(["x"])
    assert cache.inner.seen == ["x"]
