"""Model families and tokenizers by the names checkpoints give them: each registers itself where it is defined
(``@register_family``, ``@register_tokenizer``), so the loader, the training script and the app find a new one
without a table to edit. A family defined outside the project (a test's, a user's) registers the same way."""

FAMILIES: dict[str, type] = {}  # config.json's "family" → a GenerativeModel subclass (ggm_core.family)
TOKENIZERS: dict[str, type] = {}  # config.json's tokenizer "kind" → a class with ``load(folder)``


def register_family(cls: type) -> type:
    """Class decorator: make ``cls`` (a ``GenerativeModel`` with a ``family`` name) loadable by that name."""
    FAMILIES[cls.family] = cls
    return cls


def register_tokenizer(cls: type) -> type:
    """Class decorator: make ``cls`` (with a ``kind`` name and ``load(folder)``) loadable by that kind."""
    TOKENIZERS[cls.kind] = cls
    return cls
