"""Counted floating-point operations (``torch.utils.flop_counter``), with the CPU attention kernel taught.

``FlopCounterMode`` has no formula for the CPU flash-attention kernel; it gets torch's own SDPA formulas
here. Dense counting: a masked-out attention score costs as much as any other.
"""

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count


def _cpu_attention(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _cpu_attention_backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, query, key, value)


CPU_ATTENTION_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_attention_backward,
}


def counting_flops() -> FlopCounterMode:
    """A context manager counting FLOPs (``.get_total_flops()``), the CPU attention kernel included."""
    return FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION_FLOPS)
