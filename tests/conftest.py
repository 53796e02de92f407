"""Shared pytest configuration. Fixtures of each fake server live in tests/fakes/."""

pytest_plugins = [
    "tests.fakes.stability.harness",
    "tests.fakes.discord.harness",
    "tests.fakes.slack.harness",
    "tests.fakes.a1111.harness",
    "tests.fakes.openai.harness",
    "tests.fakes.gemini.harness",
    "tests.fakes.comfyui.harness",
    "tests.fakes.s3.harness",
    "tests.helpers.settings",
    "tests.helpers.postgres",
]
