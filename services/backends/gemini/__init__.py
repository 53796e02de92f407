"""Gemini image models (``generateContent`` with image output) as an easel backend.

::

    from services.backends.gemini.backend import GeminiImagesBackend

    backend = GeminiImagesBackend(api_key, model="gemini-3.1-flash-image")

=========  ==========================================================================
backend    the backend: SDK client, one request per image
checks     ``easel check``: reachable, credentials taken, default model offered
vertex     Vertex AI as the endpoint: project + location with Google credentials, or express mode
answers    one answer → a PNG original or a content-filtered marker
models     model families (image sizes, input images), aspect ratios
limits     the :class:`BackendLimits` commands validate against
errors     the SDK's exceptions → easel's error tree (retryable ones apart)
plugin     settings (``GEMINI_API_KEY``, ``EASEL_GEMINI_*``, ``EASEL_GEMINI_VERTEX_*``) and ``build``
=========  ==========================================================================

The package imports no SDK: :mod:`.backend` (and with it ``google.genai``, ~0.8 s) is imported
only when this backend is built.
"""

from services.backends.gemini.models import ASPECT_RATIOS, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_MODELS

__all__ = ["ASPECT_RATIOS", "DEFAULT_BASE_URL", "DEFAULT_MODEL", "DEFAULT_MODELS"]
