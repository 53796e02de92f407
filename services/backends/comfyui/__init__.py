"""ComfyUI (HTTP + websocket API, workflow graphs) as an easel backend.

::

    from services.backends.comfyui import ComfyUIBackend, load_workflows

    backend = ComfyUIBackend("http://gpu-box:8188", workflows=load_workflows(None))

==================  ===================================================================
backend             the backend: values into the graph, uploads, runs, outpaint paste-back
client              one host's wire: ``/object_info``, ``/upload/image``, ``/prompt``, ``/ws``,
                    ``/history``, ``/view``, ``/interrupt``
catalog             what a host offers (from ``/object_info``), merged over hosts
hosts               several hosts: least busy first, failover, re-probing
limits              operations offered and the :class:`BackendLimits` commands validate against
workflows           graph + mapping files, the shipped defaults and the operator's folder
masks               easel's masks as ``LoadImageMask`` reads them
default_workflows/  txt2img, img2img, inpaint, outpaint, upscale (package data)
plugin              settings (``EASEL_COMFYUI_*``) and ``build``
==================  ===================================================================
"""

from services.backends.comfyui.backend import ComfyUIBackend
from services.backends.comfyui.workflows import Workflow, load_workflows

__all__ = ["ComfyUIBackend", "Workflow", "load_workflows"]
