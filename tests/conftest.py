import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import torch  # noqa: E402

# Small models run as fast on one thread, and tests stay quick when other work shares the CPU.
torch.set_num_threads(1)
