"""Image backends: Stability AI's REST API and AUTOMATIC1111-compatible GPU hosts.

Each backend is a plugin (:mod:`services.backends.plugin`): a package with its own settings
model, listed in :mod:`services.backends.registry`. Wire shapes (JSON bodies, multipart
fields) stay inside this package; the rest of easel sees only :mod:`services.types`.
"""

from services.backends.base import Backend, BackendLimits, ProgressCallback

__all__ = ["Backend", "BackendLimits", "ProgressCallback"]
