"""OpenAI-compatible image APIs (``/v1/images/generations`` and ``/edits``) as an easel backend.

::

    from services.backends.openai import OpenAIImagesBackend

    backend = OpenAIImagesBackend(api_key, model="gpt-image-2")

=========  ==========================================================================
backend    the backend: SDK client, calls, decoding, ``easel check``
models     model families: sizes, qualities, images per request
limits     the :class:`BackendLimits` commands validate against
masks      easel's masks → OpenAI's transparent-means-edit PNG
errors     the SDK's exceptions → easel's error tree (retryable ones apart)
plugin     settings (``OPENAI_*``, ``EASEL_OPENAI_*``) and ``build``
=========  ==========================================================================
"""

from services.backends.openai.backend import DEFAULT_BASE_URL, OpenAIImagesBackend
from services.backends.openai.models import DEFAULT_MODEL, DEFAULT_MODELS, model_spec

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "DEFAULT_MODELS", "OpenAIImagesBackend", "model_spec"]
