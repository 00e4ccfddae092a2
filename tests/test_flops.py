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


def test_blackout_step_flops_are_the_unets_convolutions_and_linear_layers():
    import torch

    from ggm_core.blackout import PixelUNet, UNetConfig

    batch = 2
    cfg = TrainConfig(dataset="faces", family="blackout", widths="8,16,16", batch_size=batch)
    unet = PixelUNet(UNetConfig(widths=(8, 16, 16)))
    forward = []  # 2·(multiply-adds) of every convolution and linear layer, from their output sizes

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            forward.append(2 * output.numel() * module.in_channels * k)
        elif isinstance(module, torch.nn.Linear):
            forward.append(2 * output.numel() * module.in_features)

    for module in unet.modules():
        module.register_forward_hook(count)
    p = torch.full((batch,), 0.5)
    unet(torch.randint(256, (batch, 64 * 64 * 3)), p, p)
    # backward: the input and weight gradients, twice the forward (the first layer's input gradient is not needed)
    expected = 3 * sum(forward)
    counted = flops_per_step(cfg)
    assert abs(counted - expected) / expected < 0.05, (counted, expected)
