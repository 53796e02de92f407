"""A fake ComfyUI host on 127.0.0.1; see ``server`` for what it speaks.

* ``server``: HTTP routes, the websocket with progress events and preview frames, one-GPU execution;
* ``rules``: ``/object_info`` node classes and ComfyUI's graph validation;
* ``harness``: the ``comfyui_server`` and ``comfyui_backend`` fixtures.
"""

from tests.fakes.comfyui.harness import comfyui_backend, comfyui_server
from tests.fakes.comfyui.server import FakeComfyUI

__all__ = ["FakeComfyUI", "comfyui_backend", "comfyui_server"]
