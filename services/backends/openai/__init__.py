"""OpenAI-compatible image APIs (``/v1/images/generations`` and ``/edits``) as an easel backend.

::

    from services.backends.openai.backend import OpenAIImagesBackend

    backend = OpenAIImagesBackend(api_key, model="gpt-image-2")

=========  ==========================================================================
backend    the backend: SDK client, calls, decoding, ``easel check``
models     model families: sizes, qualities, images per request
limits     the :class:`BackendLimits` commands validate against
masks      easel's masks → OpenAI's transparent-means-edit PNG
errors     the SDK's exceptions → easel's error tree (retryable ones apart)
plugin     settings (``OPENAI_*``, ``EASEL_OPENAI_*``) and ``build``
=========  ==========================================================================

The package imports no SDK: :mod:`.backend` (and with it ``openai``, ~0.8 s) is imported only
when this backend is built, so a process using another backend does not pay for it.
"""

from services.backends.openai.models import DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_MODELS, model_spec

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "DEFAULT_MODELS", "model_spec"]
