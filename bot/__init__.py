"""The easel process: settings, CLI, composition root, chat front ends, health endpoint."""

__version__ = "0.1.0"
