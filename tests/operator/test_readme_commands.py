"""Every command the README tells an operator to type works as written (issue 12).

* each ``easel …`` command (in code blocks, inline, behind ``docker run … easel``) names a
  real subcommand and parses, so no ``easel python -m …`` through the image's entrypoint;
* the Quick start block runs, line by line, through the real CLI against the fake Stability
  server (``make check`` included: chat front ends are optional for it);
* the Slack section lists the manifest's commands and counts its URLs right;
* ``.env.example``, ``.dockerignore`` and the Dockerfile say what the README says they do.
"""

from __future__ import annotations

import argparse
import io
import re
import shlex
from pathlib import Path
from typing import Any

from PIL import Image

from bot.cli import build_parser
from bot.slack.manifest import MANIFEST_PATH, PLACEHOLDER_URL, build_manifest
from bot.variables import ENV_NAMES
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.images import png

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
_EASEL = {"easel", ".venv/bin/easel"}


def _block(name: str) -> str:
    match = re.search(rf"<!-- {name}:BEGIN -->\n(.*?)<!-- {name}:END -->", README, re.S)
    assert match, f"README has no {name} block"
    return match.group(1)


def _shell_lines(text: str) -> list[str]:
    """Commands in ```sh blocks (continuations joined, comments dropped) and inline code spans."""
    lines: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" # ")[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    lines += [
        span
        for span in re.findall(r"`([^`\n]+)`", text)
        if re.match(r"(\S+=\S+ )*(\.venv/bin/)?easel |docker run ", span)
    ]
    return lines


def _easel_args(line: str) -> list[str] | None:
    """The arguments given to easel on ``line`` (``docker run … easel ARGS`` too), or None."""
    tokens = shlex.split(line.replace("…", "x").replace("<id>", "1234"))
    if tokens[:2] == ["docker", "run"]:
        value_options = {"--name", "--env-file", "-v", "-p", "--stop-timeout", "--user", "-e"}
        i = 2
        while i < len(tokens) and tokens[i].startswith("-"):
            i += 2 if tokens[i] in value_options else 1
        return tokens[i + 1 :]  # tokens[i] is the image; the rest goes to its entrypoint, easel
    for i, token in enumerate(tokens):
        if token in _EASEL:
            return tokens[i + 1 :]
        if "=" not in token:
            return None
    return None


def test_every_documented_easel_command_is_a_real_subcommand_that_parses() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seen: set[str] = set()
    for line in _shell_lines(README):
        args = _easel_args(line)
        if args is None:
            continue
        if not args:  # `docker run … easel`: the image's default command, `run`
            args = ["run"]
        if args[0].startswith("-"):
            assert args[0] in {"--help", "--version"}, line
            continue
        assert args[0] in sub.choices, f"README: {line!r} runs `easel {args[0]}`, which does not exist"
        _, extras = parser.parse_known_args(args)
        assert args[0] == "slack-manifest" or not extras, f"README: {line!r} leaves {extras} unparsed"
        seen.add(args[0])
    assert {"run", "check", "imagine", "quota", "slack-manifest", "upscale", "outpaint"} <= seen


def _cutout_png() -> bytes:
    rgba = Image.new("RGBA", (1024, 1024), (10, 20, 30, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 512, 512))
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    return buf.getvalue()


async def test_the_quick_start_runs_as_written(stability_server: Any, tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(png((1024, 1024), (40, 120, 200)))
    (tmp_path / "mask.png").write_bytes(png((1024, 1024), (255,), mode="L"))
    (tmp_path / "cutout.png").write_bytes(_cutout_png())
    env = clean_env(
        STABILITY_API_KEY=stability_server.api_key,
        STABILITY_API_HOST=stability_server.url,
        EASEL_DATA_DIR=str(tmp_path / "data"),
    )
    ran = []
    for line in _shell_lines(_block("QUICKSTART")):
        if line.startswith("export "):
            continue  # the key: the fake's, above
        tokens = shlex.split(line)
        if tokens == ["make", "check"]:
            tokens = [".venv/bin/easel", "check"]  # what `make check` runs
        extra = dict(t.split("=", 1) for t in tokens[: tokens.index(".venv/bin/easel")])
        args = tokens[tokens.index(".venv/bin/easel") + 1 :]
        result = await run_easel(*args, env={**env, **extra}, cwd=tmp_path)
        assert result.code == 0, f"README quick start: {line!r} exited {result.code}: {result.stderr}"
        ran.append(args[0])
    assert ran == ["check", "imagine", "remix", "inpaint", "inpaint", "upscale", "outpaint", "quota"]
    assert len(list((tmp_path / "out").glob("*.png"))) == 7  # imagine --n 2, then one image each


def test_the_slack_section_matches_the_manifest() -> None:
    manifest = build_manifest()
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    listed = set(re.findall(r"`(/[a-z]+)", _block("SLACK-COMMANDS")))
    assert listed == commands
    urls = MANIFEST_PATH.read_text().count(PLACEHOLDER_URL)
    assert f"replace all {urls}\n     `{PLACEHOLDER_URL}` URLs" in README


def test_the_example_env_names_every_variable_and_only_real_ones() -> None:
    text = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert names == set(ENV_NAMES.values())


def test_docker_context_and_layers() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for secret_or_state in (".env", ".venv", "data", ".git"):
        assert secret_or_state in ignored
    joined = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    steps = [line for line in joined.splitlines() if line.startswith(("COPY", "RUN"))]
    first_code = next(i for i, s in enumerate(steps) if s.startswith("COPY bot"))
    deps = next(i for i, s in enumerate(steps) if "-r requirements.txt" in s)
    assert steps.index("COPY pyproject.toml ./") < deps < first_code  # a code change keeps the deps layer
