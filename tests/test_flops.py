"""Counted training FLOPs agree with the hand count, attention included."""

from training.config import TrainConfig
from training.flops import flops_per_step


def test_md4_step_flops_match_the_hand_count_including_attention():
    d, L, layers, V, batch = 16, 64, 2, 32, 4
    cfg = TrainConfig(family="md4", seq_len=L, d_model=d, n_layers=layers, n_heads=2, vocab_size=V, batch_size=batch)
    linear = layers * 24 * d * d * L + 2 * d * V * L  # qkv, proj, MLP per token and layer; the output head
    attention = layers * 4 * L * L * d  # scores and weighted sum, dense
    # backward: twice the forward for matrix products, 2.5 times for attention (torch's SDPA formulas)
    expected = batch * (3 * linear + 3.5 * attention)
    counted = flops_per_step(cfg)
    assert abs(counted - expected) / expected < 0.05, (counted, expected)
    without_attention = batch * 3 * linear
    assert counted > 1.3 * without_attention
