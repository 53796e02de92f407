"""The "made by X — Y was unavailable" note reaches every front end's result message, worded once."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.cli_progress import ProgressDisplay
from bot.cli_sink import CliSink
from bot.discord.render import result_embed
from bot.slack.blocks import result_blocks
from services.types import GenerationRequest, JobOutcome, Operation, PublishedImage, Requester, WeightedPrompt

NOTE = "Made by gpt-image-2 — ultra was unavailable."


def _outcome(fallback_from: str | None) -> JobOutcome:
    image = PublishedImage(0, b"\x89PNG", "easel-job1-1.png", "image/png", 7, 64, 64)
    request = GenerationRequest(Operation.IMAGINE, prompts=(WeightedPrompt("a fox"),), model="ultra")
    return JobOutcome(
        "job1",
        request,
        Requester("test", "u1"),
        (image,),
        "routing",
        "gpt-image-2",
        fallback_from=fallback_from,
    )


async def test_discord_slack_and_the_cli_say_which_model_made_a_fallback_picture(tmp_path: Path) -> None:
    embed = result_embed(_outcome("ultra"), "imagine", 42)
    assert [f.value for f in embed.fields if f.name == "Fallback"] == [NOTE]
    assert NOTE in json.dumps(
        result_blocks(_outcome("ultra"), user_id="U1", operations=frozenset(Operation)), ensure_ascii=False
    )
    err = io.StringIO()
    sink = CliSink({"out_dir": str(tmp_path)}, out=io.StringIO(), err=err, display=ProgressDisplay(err))
    await sink.deliver(_outcome("ultra"))
    assert NOTE in err.getvalue()


def test_no_note_when_the_asked_model_made_it() -> None:
    embed = result_embed(_outcome(None), "imagine", 42)
    assert not [f for f in embed.fields if f.name == "Fallback"]
    assert "unavailable" not in json.dumps(
        result_blocks(_outcome(None), user_id="U1", operations=frozenset(Operation))
    )
