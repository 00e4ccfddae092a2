"""Text infilling in the library (ggm_core.text_infill): whole documents (END, PAD), the seams, and the gap
lengths a model chooses by its own full conditionals."""

from pathlib import Path

import pytest
import torch
from app_checkpoints import make_md4_checkpoint, make_text_checkpoint

from ggm_core import load_model
from ggm_core.events import run_to_end
from ggm_core.text_infill import LENGTH_BONUS, allowed_tokens, choose_gap_lengths, gap_window, parse_gaps, plan_infill
from ggm_core.tokenizers.text import TextTokenizer

ASSET = Path(__file__).resolve().parents[1] / "assets" / "text_austen"


@pytest.fixture(scope="module")
def doc_tok(tmp_path_factory) -> TextTokenizer:
    return TextTokenizer.load(ASSET).save_with_document_tokens(tmp_path_factory.mktemp("bpe"))


@pytest.fixture(scope="module")
def doc_model(tmp_path_factory):
    return load_model(make_text_checkpoint(tmp_path_factory.mktemp("doc") / "text", documents=True))


def test_a_short_text_is_a_whole_document(doc_tok):
    plan = plan_infill("It was a [___] day.", doc_tok, 32, lengths=[2])
    (gap,) = plan.gaps
    assert gap.flexible and gap.end - gap.start == 2 and not plan.writes_on
    n = len(doc_tok.encode("It was a")) + 2 + len(doc_tok.encode(" day."))
    assert plan.tokens[n] == doc_tok.end_id and plan.tokens[n + 1 :] == [doc_tok.pad_id] * (31 - n)
    assert all(plan.known[n:]) and plan.n_free == 2


def test_write_on_frees_the_tail_and_text_without_a_gap_always_writes_on(doc_tok):
    plan = plan_infill("It was a [3] day.", doc_tok, 32, write_on=True)
    assert plan.writes_on and not any(plan.known[-5:]) and any("writes on" in r for r in plan.remarks)
    assert plan_infill("It was a fine day.", doc_tok, 32).writes_on


def test_a_bare_underscore_run_is_a_flexible_gap():
    segments, notices = parse_gaps("It was a ___ day, a_b and __ stay.")
    assert [(s.text, s.length, s.flexible) for s in segments] == [
        ("It was a ", 0, False), ("", 8, True), (" day, a_b and __ stay.", 0, False),
    ]  # fmt: skip
    assert notices == []


def first_allowed(plan, tok) -> list[bytes]:
    allowed = allowed_tokens(plan, tok)
    pieces = tok.token_bytes()
    return [pieces[i] for i in allowed[plan.gaps[0].start].nonzero().flatten().tolist()]


@pytest.mark.parametrize(
    "text, rule",
    [
        ("[___] was a fine day.", lambda p: not p.startswith(b" ") and p[:1].isupper()),
        ("Line one.\n[___] two.", lambda p: not p.startswith(b" ") and p[:1].isupper()),
        ("He said “[___]” and left.", lambda p: not p.startswith(b" ") and p[:1].isupper()),
        ("He left. [___] she cried.", lambda p: p.startswith(b" ") and p[1:2].isupper()),
        ("He was hap[___]ness itself.", lambda p: p.isalpha()),
        ("He was hap[___] today.", lambda p: p.isalpha()),
        ("It was a [___] day.", lambda p: p.startswith(b" ")),
    ],
)
def test_a_gap_starts_as_its_seam_says(doc_tok, text, rule):
    firsts = first_allowed(plan_infill(text, doc_tok, 64, lengths=[2]), doc_tok)
    assert firsts and all(rule(p) for p in firsts), [p for p in firsts if not rule(p)][:5]


def test_a_gap_inside_a_word_holds_letters_and_no_gap_holds_end_or_pad(doc_tok):
    plan = plan_infill("He was hap[___]ness itself. It was [4] fine.", doc_tok, 64, lengths=[3])
    allowed = allowed_tokens(plan, doc_tok)
    pieces = doc_tok.token_bytes()
    inside, other = plan.gaps
    for position in range(inside.start, inside.end):
        assert all(pieces[i].isalpha() for i in allowed[position].nonzero().flatten().tolist())
    for position in range(other.start, other.end):
        assert not allowed[position, doc_tok.end_id] and not allowed[position, doc_tok.pad_id]


def test_the_chosen_length_is_the_best_scored_and_its_run_replays_the_candidate(doc_model, monkeypatch):
    text = "It is a truth [___] acknowledged."

    def plan_for(lengths):
        return plan_infill(text, doc_model.tokenizer, doc_model.seq_len, lengths=lengths)

    choice = choose_gap_lengths(doc_model, plan_for, 1, candidates=(1, 2, 3, 4), seed=5)
    assert len(choice.scores[0]) == 4 and all(s <= 0 for s in choice.scores[0])
    assert choice.network_calls > 4 and choice.seconds > 0
    bonus = [choice.scores[0][c] + LENGTH_BONUS * (c + 1) for c in range(4)]
    assert choice.lengths == [(1, 2, 3, 4)[max(range(4), key=bonus.__getitem__)]]
    plan = plan_for(choice.lengths)
    replay = run_to_end(
        doc_model.sample(
            known_tokens=torch.tensor(plan.tokens), known=torch.tensor(plan.known),
            allowed=allowed_tokens(plan, doc_model.tokenizer), seed=5,
        )
    ).tokens[0]  # fmt: skip
    assert torch.equal(replay, choice.samples[choice.candidates.index(choice.lengths[0])])
    assert doc_model.tokenizer.document(replay).startswith("It is a truth")

    def prefer_three(tokens, positions=None):  # the scorer alone decides: the row of length 3 scores best
        scores = torch.full(tokens.shape, -5.0, dtype=torch.float64)
        scores[2] = -1.0
        return scores

    monkeypatch.setattr(doc_model, "conditional_log_probs", prefer_three)
    assert choose_gap_lengths(doc_model, plan_for, 1, candidates=(1, 2, 3, 4), seed=5, length_bonus=0).lengths == [3]
    longer = choose_gap_lengths(doc_model, plan_for, 1, candidates=(1, 2, 3, 4), seed=5, length_bonus=1000)
    assert longer.lengths == [4] and longer.scores == choice_scores_of(prefer_three, doc_model)


def choice_scores_of(scorer, model) -> list[list[float]]:
    """The per-candidate scores ``scorer`` gives the four candidates (its row sums over each gap's window)."""
    text = "It is a truth [___] acknowledged."
    rows = []
    for c, n in enumerate((1, 2, 3, 4)):
        plan = plan_infill(text, model.tokenizer, model.seq_len, lengths=[n])
        window = gap_window(plan, plan.gaps[0], model.tokenizer.pad_id)
        rows.append(float(scorer(torch.zeros(4, model.seq_len))[c, window].sum()))
    return [rows]


def test_conditional_log_probs_are_probabilities_and_do_not_depend_on_the_batch(doc_model, tmp_path):
    md4 = load_model(make_md4_checkpoint(tmp_path / "md4", doc_model_folder(doc_model, tmp_path)))
    tokens = torch.randint(0, doc_model.vocab_size, (3, doc_model.seq_len), generator=torch.Generator().manual_seed(0))
    for model in (doc_model, md4):
        together = model.conditional_log_probs(tokens)
        alone = torch.cat([model.conditional_log_probs(row[None]) for row in tokens])
        assert together.shape == (3, doc_model.seq_len) and (together <= 0).all()
        assert torch.allclose(together, alone, atol=1e-5)
    some = md4.conditional_log_probs(tokens, positions=[3, 7])
    assert torch.allclose(some[:, [3, 7]], md4.conditional_log_probs(tokens)[:, [3, 7]], atol=1e-5)
    assert some[:, 0].isnan().all()


def doc_model_folder(model, tmp_path) -> Path:
    return model.save(tmp_path / "ggm")


def test_noise_it_dissolves_a_short_text_as_a_whole_document(doc_tok):
    from ggm_app.text import noise_input

    x0, notices = noise_input("Emma was happy.", doc_tok, 32)
    n = len(doc_tok.encode("Emma was happy."))
    assert x0[n] == doc_tok.end_id and (x0[n + 1 :] == doc_tok.pad_id).all() and not notices
