"""An event's outputs by name: a handler says ``outputs.update(view=..., status=...)`` and never lines values up
with a list of components by hand.

Gradio takes a handler's outputs as a tuple in the order of the event's component list (an API client reads them
in that order too); :class:`NamedOutputs` holds that list under names and builds the tuple, with ``gr.skip()``
(leave it as it is) for every name not given.
"""

import gradio as gr


class NamedOutputs:
    """Named output components, in the order the event lists them; a name may stand for a list of components (a
    tab's extra outputs, Compare's columns), given and sent as a sequence."""

    def __init__(self, **components) -> None:
        self.components = components

    @property
    def list(self) -> list:
        """The components, flattened, as the event's ``outputs``."""
        return [c for item in self.components.values() for c in (item if isinstance(item, list) else [item])]

    def update(self, **values) -> tuple:
        """The values in the event's order; a name not given is left as it is (``gr.skip()``)."""
        unknown = set(values) - set(self.components)
        if unknown:
            raise KeyError(f"no outputs named {sorted(unknown)}; known: {list(self.components)}")
        out = []
        for name, item in self.components.items():
            if isinstance(item, list):
                given = values.get(name)
                given = [gr.skip()] * len(item) if given is None else list(given)
                if len(given) != len(item):
                    raise ValueError(f"{name}: {len(given)} values for {len(item)} components")
                out += given
            else:
                out.append(values[name] if name in values else gr.skip())
        return tuple(out)
