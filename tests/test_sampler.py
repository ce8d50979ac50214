"""Tests for the batched sampler: greedy, top-k/top-p/min-p filters, penalties, logit bias and seeding."""

import math
from collections import Counter

import pytest
import torch

from qwen3_server.engine.sampler import apply_penalties, filter_logits, sample
from qwen3_server.engine.types import SamplingParams


def P(**kwargs):
    return SamplingParams(max_tokens=1, **kwargs)


def gen(seed):
    return torch.Generator().manual_seed(seed)


def draw(logits, params, n, seed=0, prompt=(), output=()):
    """n samples for one row, one seeded generator carried across the draws."""
    g = gen(seed)
    row = torch.as_tensor(logits, dtype=torch.float32)[None]
    return [sample(row, [params], [list(prompt)], [list(output)], [g])[0] for _ in range(n)]


def log_probs(probs):
    return [math.log(p) for p in probs]


@pytest.mark.parametrize(
    "logits, expected",
    [([0.1, 3.0, 2.9, -1.0], 1), ([5.0, -5.0, 4.99], 0), ([-3.0, -2.0, -1.0, -0.5], 3)],
    ids=["middle", "first", "all_negative"],
)
def test_greedy_is_argmax(logits, expected):
    row = torch.tensor([logits])
    for generator in (None, gen(1)):
        assert sample(row, [P(temperature=0.0)], [[]], [[]], [generator]) == [expected]


def test_greedy_ignores_filters():
    assert draw([0.0, 1.0, 0.5], P(temperature=0.0, top_k=5, top_p=0.1, min_p=0.9), 5) == [1] * 5


def test_top_k_one_is_argmax_over_many_seeds():
    logits = [0.0, 1.0, 1.2, 0.9, -2.0]
    for seed in range(200):
        assert draw(logits, P(temperature=1.0, top_k=1), 1, seed=seed) == [2]


def test_top_k_two_only_samples_top_two():
    counts = Counter(draw([1.0, 0.9, 0.8, 0.7, 0.95], P(temperature=1.0, top_k=2), 2000, seed=3))
    assert set(counts) == {0, 4}


def test_top_p_tiny_keeps_only_top_token():
    logits = [0.5, 0.4, 0.6, 0.55]
    for seed in range(100):
        assert draw(logits, P(temperature=1.0, top_p=1e-6), 1, seed=seed) == [2]


@pytest.mark.parametrize(
    "top_p, kept",
    [(0.45, {0}), (0.51, {0, 1}), (0.79, {0, 1}), (0.81, {0, 1, 2}), (0.96, {0, 1, 2, 3})],
    ids=["first_only", "just_over_first", "below_two", "over_two", "all"],
)
def test_top_p_keeps_smallest_prefix_reaching_mass(top_p, kept):
    logits = torch.tensor(log_probs([0.5, 0.3, 0.15, 0.05]))
    filtered = filter_logits(logits, P(top_p=top_p))
    assert {i for i in range(4) if filtered[i] > float("-inf")} == kept


def test_top_p_with_unsorted_logits_masks_right_tokens():
    logits = torch.tensor(log_probs([0.05, 0.3, 0.15, 0.5]))
    filtered = filter_logits(logits, P(top_p=0.7))
    assert torch.isinf(filtered).tolist() == [True, False, True, False]
    assert torch.equal(filtered[[1, 3]], logits[[1, 3]])


def test_min_p_filters_low_tokens_when_sampling():
    probs = [0.4, 0.3, 0.12, 0.09, 0.05, 0.04]  # min_p 0.25 -> threshold 0.1: tokens 3, 4, 5 go
    counts = Counter(draw(log_probs(probs), P(temperature=1.0, min_p=0.25), 3000, seed=7))
    assert set(counts) == {0, 1, 2}


def test_min_p_filter_logits_mask():
    filtered = filter_logits(torch.tensor(log_probs([0.5, 0.3, 0.15, 0.05])), P(min_p=0.2))
    assert torch.isinf(filtered).tolist() == [False, False, False, True]


def test_filters_disabled_leave_logits_unchanged():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.0])
    assert torch.equal(filter_logits(logits, P(top_k=0, top_p=1.0, min_p=0.0)), logits)
    assert torch.equal(filter_logits(logits, P(top_k=10)), logits)


@pytest.mark.parametrize(
    "params, prompt, output, expected",
    [
        (P(presence_penalty=0.5), [], [1, 1, 2], [0.0, -0.5, -0.5, 0.0, 0.0]),
        (P(frequency_penalty=0.25), [], [1, 1, 2], [0.0, -0.5, -0.25, 0.0, 0.0]),
        (P(presence_penalty=0.5, frequency_penalty=0.25), [], [1, 1, 1, 2], [0.0, -1.25, -0.75, 0.0, 0.0]),
        (P(presence_penalty=1.0, frequency_penalty=1.0), [3, 4], [], [0.0] * 5),
        (P(presence_penalty=1.0), [3, 4], [0], [-1.0, 0.0, 0.0, 0.0, 0.0]),
        (P(presence_penalty=-0.5), [], [4], [0.0, 0.0, 0.0, 0.0, 0.5]),
        (P(logit_bias=((1, 5.0), (3, -100.0))), [], [], [0.0, 5.0, 0.0, -100.0, 0.0]),
    ],
    ids=["presence", "frequency", "presence_and_frequency", "prompt_not_penalised",
         "output_only", "negative_presence_rewards", "logit_bias"],
)
def test_penalties_and_bias_on_zero_logits(params, prompt, output, expected):
    logits = torch.zeros(5)
    apply_penalties(logits, params, prompt, output)
    assert logits.tolist() == pytest.approx(expected)


@pytest.mark.parametrize(
    "prompt, output, expected",
    [
        ([0, 1], [], [1.0, -4.0, 2.0, -2.0, 1.0]),
        ([], [2, 3], [2.0, -2.0, 1.0, -4.0, 1.0]),
        ([0, 0, 3], [0, 3, 3], [1.0, -2.0, 2.0, -4.0, 1.0]),
        ([], [], [2.0, -2.0, 2.0, -2.0, 1.0]),
    ],
    ids=["prompt_tokens", "output_tokens", "repeats_penalised_once", "nothing_seen"],
)
def test_repetition_penalty(prompt, output, expected):
    logits = torch.tensor([2.0, -2.0, 2.0, -2.0, 1.0])
    apply_penalties(logits, P(repetition_penalty=2.0), prompt, output)
    assert logits.tolist() == pytest.approx(expected)


def test_repetition_penalty_below_one_boosts_seen():
    logits = torch.tensor([2.0, -2.0, 1.0])
    apply_penalties(logits, P(repetition_penalty=0.5), [0, 1], [])
    assert logits.tolist() == pytest.approx([4.0, -1.0, 1.0])


def test_penalties_change_greedy_choice():
    logits = [1.0, 0.9, 0.2]
    assert draw(logits, P(temperature=0.0), 1) == [0]
    assert draw(logits, P(temperature=0.0, presence_penalty=0.5), 1, output=[0]) == [1]
    assert draw(logits, P(temperature=0.0, repetition_penalty=1.5), 1, prompt=[0]) == [1]
    assert draw(logits, P(temperature=0.0, logit_bias=((2, 1.0),)), 1) == [2]


def test_same_seed_same_samples_different_seed_differs():
    flat = [0.0] * 1000
    params = P(temperature=1.0)
    a, b, c = draw(flat, params, 20, seed=11), draw(flat, params, 20, seed=11), draw(flat, params, 20, seed=12)
    assert a == b
    assert a != c
    assert len(set(a)) > 10  # really sampling from the flat distribution


def test_low_temperature_concentrates():
    counts = Counter(draw([1.0, 0.0, 0.0], P(temperature=0.05), 500, seed=5))
    assert counts[0] == 500
    counts = Counter(draw([1.0, 0.0, 0.0], P(temperature=5.0), 1500, seed=5))
    assert min(counts[1], counts[2]) > 300


def test_sample_does_not_modify_caller_logits():
    logits = torch.tensor([[1.0, 2.0, 3.0]])
    before = logits.clone()
    sample(logits, [P(temperature=0.7, top_k=1, presence_penalty=2.0, logit_bias=((0, 9.0),))], [[1]], [[2]], [gen(0)])
    assert torch.equal(logits, before)


def test_batched_rows_use_their_own_params():
    logits = torch.tensor(
        [
            [0.0, 5.0, 1.0, 0.0],  # greedy -> 1
            [3.0, 2.9, 0.0, 0.0],  # top_k=1 at temperature 1 -> 0
            [0.0, 5.0, 1.0, 0.0],  # logit bias forces 3
            [0.0, 1.0, 0.95, 0.0],  # greedy, but 1 was generated: presence penalty -> 2
            [0.0, 0.0, 0.0, 0.0],  # top_p tiny on a flat row keeps just one token; min_p filters nothing
            [2.0, 0.0, 1.9, 0.0],  # greedy, repetition penalty on prompt token 0 -> 2
        ]
    )
    params = [
        P(temperature=0.0),
        P(temperature=1.0, top_k=1),
        P(temperature=1.0, logit_bias=((3, 100.0),)),
        P(temperature=0.0, presence_penalty=1.0),
        P(temperature=1.0, top_p=1e-6),
        P(temperature=0.0, repetition_penalty=1.2),
    ]
    prompts = [[1], [], [], [], [], [0]]
    outputs = [[1, 1], [], [], [1], [], []]
    for seed in range(20):
        generators = [gen(seed + i) for i in range(len(params))]
        chosen = sample(logits, params, prompts, outputs, generators)
        assert chosen[:4] == [1, 0, 3, 2] and chosen[5] == 2
        assert 0 <= chosen[4] < 4


def test_batched_seeded_row_independent_of_other_rows():
    flat = torch.zeros(2, 500)
    params = [P(temperature=1.0), P(temperature=1.0)]
    alone = sample(flat[:1], params[:1], [[]], [[]], [gen(42)])
    together = sample(flat, params, [[], []], [[], []], [gen(42), gen(7)])
    assert together[0] == alone[0]


def test_bfloat16_logits_accepted():
    logits = torch.tensor([[0.0, 4.0, 1.0]], dtype=torch.bfloat16)
    assert sample(logits, [P(temperature=0.0)], [[]], [[]], [None]) == [1]
