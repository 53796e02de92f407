"""/history and /settings through slack-bolt and the fake Slack (issue 10, for users)."""

from __future__ import annotations

from typing import Any

from bot.slack.history import SLACK_WEB_URL
from services.types import Requester
from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage
from tests.helpers.slack_messages import result_cards_posted, wait_for_results

CHANNEL = "C0CHANNEL1"
USER = "U0USER0001"
OTHER = "U0USER0002"


async def imagine(easel: SlackEasel, text: str, user_id: str = USER) -> str:
    before = result_cards_posted(easel.slack)
    await easel.user.slash_command("/imagine", text, user_id=user_id)
    return (await wait_for_results(easel.slack, before + 1))[-1].job_id


async def private_reply(slack: FakeSlack, response_url: str, contains: str = "") -> dict[str, Any]:
    rid = response_url.rsplit("/", 1)[-1]
    calls = await slack.wait_for(
        "response_url", where=lambda c: c.params.get("_rid") == rid and contains in str(c.params)
    )
    return dict(calls[-1].params)


async def used(easel: SlackEasel, user_id: str) -> int:
    return int((await easel.services.jobs.quota_status(Requester("slack", user_id))).used)


async def test_history_is_private_newest_first_and_runs_a_job_again_for_its_owner(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    first = await imagine(slack_easel, "a paper crane <!here> --seed 11")
    await imagine(slack_easel, "a second crane --n 2")
    await imagine(slack_easel, "someone else's crane", user_id=OTHER)

    sent = await slack_easel.user.slash_command("/history")
    assert sent.status == 200 and sent.text == ""  # acked first; the list comes by the response URL
    reply = await private_reply(slack, sent.response_url, "blocks")
    assert reply["response_type"] == "ephemeral"
    blocks = reply["blocks"]
    assert blocks[0]["text"]["text"].startswith("Your last 2 jobs, newest first")
    lines = [b["text"]["text"] for b in blocks[1:]]
    assert "a second crane" in lines[0] and "a paper crane &lt;!here&gt;" in lines[1]  # escaped
    assert not any("someone else" in line for line in lines)
    assert f"<{SLACK_WEB_URL}/app_redirect?channel={CHANNEL}&team=" in lines[1] and "/imagine" in lines[1]
    assert blocks[2]["accessory"]["action_id"] == f"easel:a:{first}"

    calls = len(stability_server.requests_for("text-to-image"))
    history = StoredMessage(CHANNEL, "1.000001", slack.bot_user_id, reply["text"], blocks)
    await slack_easel.user.block_action(f"easel:a:{first}", message=history)
    card = (await wait_for_results(slack, 4))[-1]
    again = stability_server.requests_for("text-to-image")[calls]
    assert again.json["text_prompts"][0]["text"] == "a paper crane <!here>" and again.json["seed"] == 11
    assert await used(slack_easel, USER) == 4  # 1 + 2 + the run again
    assert card.summary.startswith(f"<@{USER}> imagined")

    other = await slack_easel.user.block_action(f"easel:a:{first}", message=history, user_id=OTHER)
    refusal = await private_reply(slack, other.response_url, "Only the person")
    assert "can run it again from /history" in refusal["text"]
    assert len(stability_server.requests_for("text-to-image")) == calls + 1
    assert await used(slack_easel, OTHER) == 1


async def test_settings_are_checked_stored_and_used_when_a_command_does_not_say(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    typo = await slack_easel.user.slash_command("/settings", "colour=blue")
    assert "There is no setting called 'colour'" in typo.text  # answered in the ack, nothing stored

    bad = await slack_easel.user.slash_command("/settings", "ar=16:9 n=99")
    refused = await private_reply(slack, bad.response_url, "--n")
    assert "between 1 and 10" in refused["text"]

    shown = await slack_easel.user.slash_command("/settings", "")
    assert (
        "aspect ratio (--ar): not set" in (await private_reply(slack, shown.response_url, "not set"))["text"]
    )

    saved = await slack_easel.user.slash_command("/settings", "--ar 7:4 n=2 style=anime")
    text = (await private_reply(slack, saved.response_url, "Saved"))["text"]
    assert "Saved: --ar 7:4, --n 2, --style anime." in text

    await slack_easel.user.slash_command("/imagine", "a wide meadow")
    result = (await wait_for_results(slack, 1))[-1].card
    sent = stability_server.requests_for("text-to-image")[-1]
    assert (sent.json["width"], sent.json["height"], sent.json["samples"]) == (1344, 768, 2)
    assert sent.json["style_preset"] == "anime"
    assert result.blocks[1]["elements"][0]["text"] == (
        "Your defaults from /settings: --ar 7:4, --n 2, --style anime."
    )

    await slack_easel.user.slash_command("/imagine", "a tall tower --ar 4:7 --n 1 --style photographic")
    plain = (await wait_for_results(slack, 2))[-1].card
    sent = stability_server.requests_for("text-to-image")[-1]
    assert (sent.json["width"], sent.json["samples"], sent.json["style_preset"]) == (768, 1, "photographic")
    assert "Your defaults" not in str(plain.blocks)

    forget = await slack_easel.user.slash_command("/settings", "reset style")
    text = (await private_reply(slack, forget.response_url, "Forgotten"))["text"]
    assert "Forgotten: --style." in text and "style (--style): not set" in text and "`7:4`" in text


async def test_easel_history_and_settings_work_where_the_names_are_taken(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    saved = await slack_easel.user.slash_command("/easel", "settings n=3")
    assert "Saved: --n 3." in (await private_reply(slack, saved.response_url, "Saved"))["text"]
    listed = await slack_easel.user.slash_command("/easel", "history")
    reply = await private_reply(slack, listed.response_url, "You have no jobs yet")
    assert reply["response_type"] == "ephemeral"
    helped = await slack_easel.user.slash_command("/easel", "help")
    assert "/history" in helped.text and "/settings" in helped.text  # listed in the help overview
