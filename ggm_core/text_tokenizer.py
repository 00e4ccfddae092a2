"""Byte-level BPE text tokenizer (trained by training/train_tokenizer.py), stored as tokenizer.json."""

import codecs
from pathlib import Path

from tokenizers import decoders
from transformers import PreTrainedTokenizerFast

from ggm_core.atomic import atomic_write_bytes

FILENAME = "tokenizer.json"


def _byte_of_char() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-printable-character map used by the ByteLevel pre-tokenizer."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = {b: chr(b) for b in printable}
    extra = (b for b in range(256) if b not in chars)
    chars.update({b: chr(256 + i) for i, b in enumerate(extra)})
    return {c: b for b, c in chars.items()}


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
        self._bytes = {i: bytes(byte_of[c] for c in t) for t, i in self._tok.get_vocab().items()}

    @classmethod
    def load(cls, folder: Path) -> "TextTokenizer":
        return cls(Path(folder) / FILENAME)

    def save(self, folder: Path) -> None:
        atomic_write_bytes(Path(folder) / FILENAME, self._tok.backend_tokenizer.to_str().encode())

    @property
    def vocab_size(self) -> int:
        return len(self._tok)

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False)

    def decode(self, ids) -> str:
        """ids: a list of ints or a 1-D tensor/array."""
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        return self._tok.decode(ids, clean_up_tokenization_spaces=False)

    def starting_with(self, prefix: bytes) -> list[bool]:
        """For every id, whether its bytes start with ``prefix`` (e.g. b" ": the tokens that begin a word)."""
        return [self._bytes[i].startswith(prefix) for i in range(self.vocab_size)]

    def pieces(self, ids) -> list[str]:
        """The text of each token, one string per id, with "".join(pieces(ids)) == decode(ids).

        A character split over several tokens (non-ASCII UTF-8) is given whole to the token that
        completes it; the tokens before it get "". Bytes that never complete a character become U+FFFD.
        """
        ids = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out = [utf8.decode(self._bytes[i]) for i in ids]
        if out:
            out[-1] += utf8.decode(b"", final=True)
        return out
