"""The audit log and the venue a request carries (the shared ground of issue 10's rules)."""

from __future__ import annotations

from services.audit import AuditLog, excerpt
from services.db import Database
from services.jobs.codec import requester_from_dict, requester_to_dict
from services.types import Requester, Venue


async def test_audit_entries_are_newest_first_and_scoped_by_server(db: Database) -> None:
    ticks = iter([100.0, 200.0, 300.0])
    log = AuditLog(db, clock=lambda: next(ticks))
    mod = Requester("discord", "7", venue=Venue(server_id="G1", channel_id="C1"))
    await log.record(mod, "ban", target="discord:9", detail="spam")
    await log.record("cli:ops", "pause", server_id="")
    async with db.transaction() as tx:
        await log.record(mod, "grant", target="discord:9", detail="+5", tx=tx)
    everything = await log.recent()
    assert [e.action for e in everything] == ["grant", "pause", "ban"]
    assert [e.action for e in await log.recent(server_id="G1")] == ["grant", "ban"]
    assert everything[-1].actor_key == "discord:7" and everything[-1].at.timestamp() == 100.0


async def test_a_rolled_back_action_leaves_no_audit_entry(db: Database) -> None:
    log = AuditLog(db)
    try:
        async with db.transaction() as tx:
            await log.record("cli:ops", "grant", tx=tx)
            raise RuntimeError("the grant itself failed")
    except RuntimeError:
        pass
    assert await log.recent() == []


def test_excerpt_cuts_long_text_to_one_short_line() -> None:
    assert excerpt("a  cat\non a\tmat") == "a cat on a mat"
    cut = excerpt("x" * 5000)
    assert len(cut) == 80 and cut.endswith("…")


def test_venue_survives_the_job_codec_and_old_rows_decode_without_one() -> None:
    who = Requester("discord", "7", "Ann", Venue("G1", "C1", frozenset({"r2", "r1"}), nsfw=True))
    assert requester_from_dict(requester_to_dict(who)) == who
    old = requester_from_dict({"platform": "slack", "user_id": "U1", "display_name": "bo"})
    assert old.venue == Venue() and old.key == "slack:U1"
