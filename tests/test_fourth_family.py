"""A fourth family defined here, outside the project, registered the way the three shipped ones are, then taken
through a checkpoint's save and load, sampling, the app's session and Compare, and the publish dry-run, with no
project file knowing its name (issue 37: families that plug in)."""

import socket

import numpy as np
import pytest
import torch
from app_checkpoints import make_text_checkpoint
from gradio_client import Client
from torch import nn

import app
from ggm_app.session import SETTLED, RunSession, RunSettings, run_side_by_side
from ggm_core import GenerativeModel, Knob, SamplerEvent, load_model, register_family, run_to_end
from ggm_core.clamp import allowed_from, restrict
from ggm_core.draws import RowSeeds, categorical_probs
from ggm_core.registry import FAMILIES
from training import publish_hub


class PositionTable(nn.Module):
    """A logit table per position: the toy family's whole network."""

    def __init__(self, seq_len: int, vocab_size: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.randn(seq_len, vocab_size) * 0.5)


@register_family
class IndependentPositions(GenerativeModel):
    """Every position drawn on its own from a learned categorical: the exact chain draws ``block`` positions a
    call, left to right (any block is exact here, the positions being independent)."""

    family = "toy-independent"
    hub_tags = ("discrete-diffusion", "toy-independent")
    chain_name = "independent draws"
    clamping = None

    def __init__(self, table: PositionTable, tokenizer, metadata: dict | None = None) -> None:
        self.table, self.tokenizer, self.metadata = table, tokenizer, metadata or {}

    @property
    def network(self) -> nn.Module:
        return self.table

    @property
    def seq_len(self) -> int:
        return self.table.logits.shape[0]

    @property
    def vocab_size(self) -> int:
        return self.table.logits.shape[1]

    def loss(self, x0, generator=None):
        logits = self.table.logits.expand(x0.shape[0], -1, -1)
        return nn.functional.cross_entropy(logits.transpose(1, 2), x0), x0.numel()

    def knobs(self):
        return (Knob("block", "Positions per call", 1, self.seq_len, 1, "{value} positions a call"),)

    def sample(self, *, batch_size=1, seed=0, known_tokens=None, known=None, temperature=1.0, top_p=1.0,
               start=None, allowed=None, block=1):  # fmt: skip
        draws = RowSeeds(seed, batch_size)
        canvas = torch.zeros(batch_size, self.seq_len, dtype=torch.long)
        fixed = torch.zeros(self.seq_len, dtype=torch.bool)
        if known_tokens is not None:
            fixed = torch.as_tensor(known, dtype=torch.bool).reshape(-1)
            canvas[:, fixed] = torch.as_tensor(known_tokens).reshape(1, -1)[:, fixed]
        free = [i for i in range(self.seq_len) if not fixed[i]]
        held = allowed_from(allowed, self.seq_len, self.vocab_size)
        yield SamplerEvent(canvas.clone(), (), canvas[:, :0], canvas[:, :0], 0, 0, 0, 0, len(free))
        for call, at in enumerate(range(0, len(free), block)):
            positions = tuple(free[at : at + block])
            logits = restrict(self.table.logits.detach().double()[list(positions)], held, positions)
            probs = categorical_probs(logits, temperature, top_p)
            old = canvas[:, positions].clone()
            canvas[:, positions] = draws.categorical(probs.expand(batch_size, -1, -1))
            yield SamplerEvent(canvas.clone(), positions, old, canvas[:, positions].clone(), call, 0, call + 1,
                               at + len(positions), len(free))  # fmt: skip

    def noising(self, x0, seed=0):
        canvas = torch.as_tensor(x0).reshape(1, -1).clone()
        yield SamplerEvent(canvas.clone(), (), canvas[:, :0], canvas[:, :0], 0, 0, 0, 0, 1)

    def knobs_for_budget(self, calls, n_free):
        return {"block": 1 if calls is None else max(1, -(-n_free // max(1, calls)))}

    def network_calls(self, n_free, block=1, **_):
        return -(-n_free // block)

    def describe(self):
        return f"independent positions: {self.seq_len} tokens, vocabulary {self.vocab_size}"

    def config_dict(self):
        return {"table": {"seq_len": self.seq_len, "vocab_size": self.vocab_size}}

    @classmethod
    def from_config(cls, config, tokenizer, metadata):
        return cls(PositionTable(**config["table"]), tokenizer, metadata)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A GGM text checkpoint and a toy one on its tokenizer, each with a model card."""
    root = tmp_path_factory.mktemp("fourth")
    ggm = make_text_checkpoint(root / "text")
    tokenizer = load_model(ggm).tokenizer
    torch.manual_seed(0)
    toy = IndependentPositions(PositionTable(32, tokenizer.vocab_size), tokenizer, {"note": "a test's family"})
    toy.save(root / "toy")
    (root / "toy" / "MODEL_CARD.md").write_text("# A toy family\n\nIndependent positions.\n")
    return ggm, root / "toy"


def test_it_registers_and_survives_save_and_load(folders):
    _, toy = folders
    assert FAMILIES["toy-independent"] is IndependentPositions
    model = load_model(toy)
    assert isinstance(model, IndependentPositions) and model.metadata == {"note": "a test's family"}
    torch.manual_seed(1)
    fresh = IndependentPositions(PositionTable(32, model.vocab_size), model.tokenizer)
    assert not torch.equal(fresh.table.logits, model.table.logits)
    again = load_model(fresh.save(toy.parent / "toy_again"))
    assert torch.equal(again.table.logits, fresh.table.logits.to(again.table.logits.dtype))


def test_it_samples_through_the_shared_surface(folders):
    model = load_model(folders[1])
    tokens = model.generate_tokens(3, seed=4)
    assert tokens.shape == (3, 32) and bool((tokens < model.vocab_size).all())
    assert torch.equal(model.generate_tokens(3, seed=4), tokens)
    last = run_to_end(model.sample(seed=4, block=8))
    assert last.nfe == 4 == model.network_calls(32, block=8)
    assert model.approximations(block=8) == ["8 positions a call"] and model.approximations() == []


def test_the_apps_session_and_side_by_side_runs_take_it(folders):
    ggm, toy = load_model(folders[0]), load_model(folders[1])
    alone = RunSession(toy, "toy", RunSettings.clean(toy, {}, seed=2))
    *_, final = alone.frames()
    assert final.final and set(np.unique(final.states)) == {SETTLED}
    assert np.array_equal(final.tokens, toy.generate_tokens(1, seed=2)[0].numpy())
    assert "**exact** independent draws" in alone.readout
    sessions = [RunSession(m, n, RunSettings.for_budget(m, 4, m.seq_len, 2)) for n, m in (("toy", toy), ("ggm", ggm))]
    for _ in run_side_by_side(sessions):
        pass
    assert all(s.finished for s in sessions)
    assert sessions[0].trajectory.nfe[-1] == 4 and "8 positions a call" in sessions[0].readout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.server
def test_the_app_loads_it_and_compares_it_with_ggm(folders):
    ggm, toy = folders
    demo = app.create_app([str(ggm), str(toy)], [])
    port = _free_port()
    demo.launch(**app.launch_kwargs() | {"server_port": port, "prevent_thread_lock": True, "quiet": True})
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        job = client.submit(text="A [6] b", write_on=False, seed=3, model_0="text", model_1="toy", budget_0=0,
                            budget_1=0, api_name="/compare_infill_text")  # fmt: skip
        list(job)
        *_, readout_0, readout_1, _ = job.outputs()[-1]
        assert "**text**" in readout_0 and "seed 3" in readout_0
        assert "**toy**" in readout_1 and "30 network calls" in readout_1 and "seed 3" in readout_1
    finally:
        demo.close()


def test_the_publish_dry_run_stages_it_with_its_own_tags(folders, capsys):
    publish_hub.main(["model", "--model", str(folders[1]), "--repo", "someone/toy", "--dry-run"])
    out = capsys.readouterr().out
    assert "model.safetensors" in out and "README.md" in out and "toy-independent" in out
