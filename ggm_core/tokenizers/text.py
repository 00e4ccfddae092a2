"""Byte-level BPE text tokenizer (trained by training/train_tokenizer.py), stored as tokenizer.json.

A tokenizer for whole documents also holds two special tokens after the BPE's own: END (the text ends here) and
PAD (nothing: every position after END). A window is then text, END, PAD … PAD (training/documents.py).
"""

import codecs
from pathlib import Path

from tokenizers import Tokenizer, decoders
from transformers import PreTrainedTokenizerFast

from ggm_core.atomic import atomic_write_bytes
from ggm_core.registry import register_tokenizer

FILENAME = "tokenizer.json"
END_TOKEN = "<|end|>"
PAD_TOKEN = "<|pad|>"


def _byte_of_char() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-printable-character map used by the ByteLevel pre-tokenizer."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    extra = (b for b in range(256) if b not in chars)
    chars.update({b: chr(256 + i) for i, b in enumerate(extra)})
    return {c: b for b, c in chars.items()}


@register_tokenizer
class TextTokenizer:
    """Lossless text <-> token ids: decode(encode(text)) == text for any Unicode text."""

    kind = "bpe"

    def __init__(self, tokenizer_file: Path):
        path = Path(tokenizer_file)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer file not found: {path}")
        try:
            self._tok = PreTrainedTokenizerFast(tokenizer_file=str(path))
        except Exception as e:  # the tokenizers library raises a bare Exception on bad JSON
            raise ValueError(f"cannot read tokenizer file {path}: {e}") from e
        if not isinstance(self._tok.backend_tokenizer.decoder, decoders.ByteLevel):
            raise ValueError(f"{path} is not a byte-level BPE tokenizer")
        byte_of = _byte_of_char()
        vocab = self._tok.get_vocab()
        self.end_id: int | None = vocab.get(END_TOKEN)
        self.pad_id: int | None = vocab.get(PAD_TOKEN)
        special = {self.end_id, self.pad_id}
        self._bytes = {i: b"" if i in special else bytes(byte_of[c] for c in t) for t, i in vocab.items()}

    @classmethod
    def load(cls, folder: Path) -> "TextTokenizer":
        return cls(Path(folder) / FILENAME)

    @property
    def has_document_tokens(self) -> bool:
        return self.end_id is not None and self.pad_id is not None

    def save_with_document_tokens(self, folder: Path) -> "TextTokenizer":
        """Write this BPE with END and PAD appended as ids V and V+1 (the BPE's own ids unchanged); load it back."""
        if self.has_document_tokens:
            self.save(folder)
        else:
            backend = Tokenizer.from_str(self._tok.backend_tokenizer.to_str())
            backend.add_special_tokens([END_TOKEN, PAD_TOKEN])
            atomic_write_bytes(Path(folder) / FILENAME, backend.to_str().encode())
        return TextTokenizer.load(folder)

    def save(self, folder: Path) -> None:
        atomic_write_bytes(Path(folder) / FILENAME, self._tok.backend_tokenizer.to_str().encode())

    @property
    def vocab_size(self) -> int:
        return len(self._tok)

    def encode(self, text: str) -> list[int]:
        """The BPE's ids of ``text``; END and PAD are never produced from text (typing "<|end|>" is just text)."""
        return self._tok.encode(text, add_special_tokens=False, split_special_tokens=True)

    def decode(self, ids) -> str:
        """ids: a list of ints or a 1-D tensor/array; END and PAD read as nothing."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        return self._tok.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def document(self, ids) -> str:
        """The text a window holds: its tokens up to the first END, with PAD dropped (``decode`` if no END/PAD)."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        if self.end_id in ids:
            ids = ids[: ids.index(self.end_id)]
        return self.decode([i for i in ids if i != self.pad_id])

    def token_bytes(self) -> list[bytes]:
        """Every id's bytes, in id order (END and PAD: b"")."""
        return [self._bytes[i] for i in range(self.vocab_size)]

    def starting_with(self, prefix: bytes) -> list[bool]:
        """For every id, whether its bytes start with ``prefix`` (e.g. b" ": the tokens that begin a word)."""
        return [b.startswith(prefix) for b in self.token_bytes()]

    def pieces(self, ids, errors: str = "replace") -> list[str]:
        """The text of each token, one string per id, with "".join(pieces(ids)) == decode(ids).

        A character split over several tokens (non-ASCII UTF-8) is given whole to the token that
        completes it; the tokens before it get "". Bytes that never complete a character become U+FFFD, or
        what the codec error handler ``errors`` makes of them ("backslashreplace": ``\\xe2``, the byte's value).
        """
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors=errors)
        out = [utf8.decode(self._bytes[i]) for i in ids]
        if out:
            out[-1] += utf8.decode(b"", final=True)
        return out
