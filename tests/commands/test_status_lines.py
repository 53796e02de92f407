"""``/status`` wording (:mod:`commands.status`): one process, a whole bot, a shard cluster, a shard down."""

from __future__ import annotations

from commands.status import GatewayView, format_shard_ids, shard_of, status_lines


def test_shard_ids_read_like_the_setting() -> None:
    assert format_shard_ids((8, 0, 1, 2, 3, 5, 6)) == "0–3, 5–6, 8"
    assert format_shard_ids((4,)) == "4"


def test_discords_routing_rule() -> None:
    guild_id = (1_234_567 << 22) | 99  # the shard comes from the timestamp bits only
    assert shard_of(guild_id, 16) == 1_234_567 % 16
    assert shard_of(None, 16) == 0  # direct messages


def test_one_shard() -> None:
    lines = status_lines(GatewayView((0,), 1, frozenset({0})), server_shard=0, queue_depth=1, running=2)
    assert lines == ["easel is up: 1 job waiting, 2 running.", "Gateway: connected."]


def test_every_shard_in_one_process() -> None:
    view = GatewayView((0, 1, 2), 3, frozenset({0, 1, 2}))
    assert status_lines(view, server_shard=2, queue_depth=0, running=0)[1:] == [
        "This process runs all 3 shards (all connected).",
        "This server is on shard 2 of 3.",
    ]


def test_a_cluster_member_with_a_shard_reconnecting() -> None:
    view = GatewayView((8, 9, 10, 11), 16, frozenset({8, 11}))
    assert status_lines(view, server_shard=None, queue_depth=5, running=1) == [
        "easel is up: 5 jobs waiting, 1 running.",
        "This process runs shards 8–11 of 16 (reconnecting: 9–10).",
    ]
