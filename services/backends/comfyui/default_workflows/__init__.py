"""easel's default ComfyUI workflows (API-format JSON) and their node-input mappings (``*.easel.json``)."""
