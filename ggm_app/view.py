"""What a tab gives the shared controls (ggm_app.controls.TabController), written down: a view that shows a run's
canvas, and a planner that reads the tab's inputs. The text tab (ggm_app.text) and the faces tab (ggm_app.faces)
each have one of both; a new tab writes these two and its layout in app.py, nothing in the controller.
"""

from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ggm_app.session import RunPlan, RunSettings, Trajectory
from ggm_core.family import GenerativeModel


class TabView(Protocol):
    """How a tab shows a run. ``extra`` is the plan's (:class:`RunPlan.extra`: the user's image, the known
    positions); every value returned is what the tab's view component takes (highlighted tokens, a PNG's path)."""

    belief_legend: str  # one line on how the belief overlay reads

    def frame(self, model: GenerativeModel, tokens: np.ndarray, states: np.ndarray, extra: dict):
        """The canvas ``tokens`` (L,) with each position's state (ggm_app.session: noise, changed, settled, known)."""

    def belief(self, model: GenerativeModel, tokens: np.ndarray, belief: torch.Tensor, extra: dict):
        """The canvas shaded by the model's belief that each token is signal (``GenerativeModel.belief``)."""

    def export(self, traj: Trajectory, model: GenerativeModel, summary: str) -> Path:
        """The run as a file to download (HTML, GIF), written under ggm_app.common.export_dir()."""


class Planner(Protocol):
    """What a tab's inputs mean for one model: ``mode`` is "infill", "generate" or "noise"; ``inputs`` the tab's
    input values in the order the tab wires them; ``settings`` the run's (a planner may sample with them, as the
    text tab's gap-length choice does)."""

    def __call__(self, mode: str, inputs: list, model: GenerativeModel, settings: RunSettings) -> RunPlan: ...
