"""UI logic of the Gradio app (app.py) that is not Gradio wiring, kept here so it can be unit-tested.

``common``: model loading, token states and palette, frame pacing, the run readout.
``text``: the text tab's run plan (gaps from ggm_core.text_infill), coloured token frames, HTML trajectory export.
``device``: where the network calls run (this process, or a ZeroGPU worker).
``faces``: image loading, brush mask → token cells, blending, mask view, GIF export.
``howitworks``: the "How it works" text and diagram.
Every computation on a model is a ``ggm_core`` call; nothing here re-implements the sampler.
"""
