"""ImageStore (originals + content-addressed inputs), the SQLite schema, and the request codec."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from services.db import DB_FILENAME, MIGRATIONS, Database, StorageUnusable
from services.errors import JobNotFound
from services.jobs.codec import (
    ImageRef,
    image_refs,
    request_from_dict,
    request_to_dict,
    requester_from_dict,
    requester_to_dict,
)
from services.store import ImageStore, png_has_alpha
from services.types import (
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    InputImage,
    MaskSource,
    Operation,
    OutpaintMargins,
    Requester,
    SourceRef,
    WeightedPrompt,
)
from tests.fakes.backend import render_png


@pytest.fixture
def store(tmp_path: Path, db: Database) -> ImageStore:
    return ImageStore(tmp_path / "data", db)


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (10, 20, 30, 128)[: len(mode)]).save(out, format="PNG")
    return out.getvalue()


async def test_original_round_trip_is_byte_exact(store: ImageStore, tmp_path: Path) -> None:
    png = render_png(48, 32, seed=7)
    stored = await store.save_original("job1", 0, GeneratedImage(png, seed=7, width=48, height=32))
    path = tmp_path / "data" / stored.key
    assert path == tmp_path / "data" / "originals" / "job1" / "0.png"
    assert path.read_bytes() == png
    assert [p.name for p in path.parent.iterdir()] == ["0.png"]  # no temp files left behind

    loaded = await store.load_original("job1", 0)
    assert (loaded.png, loaded.width, loaded.height, loaded.has_alpha) == (png, 48, 32, False)
    info = await store.get_original("job1", 0)
    assert (info.seed, info.finish_reason) == (7, FinishReason.SUCCESS)


async def test_saving_again_replaces_the_original(store: ImageStore) -> None:
    await store.save_original("job1", 1, GeneratedImage(_png(8, 8), seed=1, width=8, height=8))
    newer = _png(16, 8, "RGBA")
    await store.save_original("job1", 1, GeneratedImage(newer, seed=2, width=16, height=8))
    loaded = await store.load_original("job1", 1)
    assert (loaded.png, loaded.width, loaded.has_alpha) == (newer, 16, True)
    assert [s.seed for s in await store.list_originals("job1")] == [2]


async def test_unknown_or_hostile_original_is_not_found(store: ImageStore) -> None:
    with pytest.raises(JobNotFound):
        await store.load_original("nope", 0)
    with pytest.raises(JobNotFound):
        await store.load_original("../../etc", 0)
    with pytest.raises(ValueError):
        await store.save_original("../escape", 0, GeneratedImage(_png(8, 8), 1, 8, 8))


async def test_missing_original_file_is_not_found(store: ImageStore, tmp_path: Path) -> None:
    stored = await store.save_original("job1", 0, GeneratedImage(_png(8, 8), 1, 8, 8))
    (tmp_path / "data" / stored.key).unlink()
    with pytest.raises(JobNotFound):
        await store.load_original("job1", 0)


async def test_delete_job_images(store: ImageStore, tmp_path: Path) -> None:
    for i in range(3):
        await store.save_original("job1", i, GeneratedImage(_png(8, 8), i, 8, 8))
    await store.save_original("job2", 0, GeneratedImage(_png(8, 8), 9, 8, 8))
    assert await store.delete_job_images("job1") == 3
    assert not (tmp_path / "data" / "originals" / "job1").exists()
    assert await store.list_originals("job1") == []
    with pytest.raises(JobNotFound):
        await store.load_original("job1", 0)
    assert (await store.load_original("job2", 0)).width == 8


async def test_inputs_are_content_addressed(store: ImageStore, tmp_path: Path) -> None:
    image = InputImage(png=_png(20, 10, "RGBA"), width=20, height=10, has_alpha=True)
    ref = await store.put_input(image)
    again = await store.put_input(InputImage(image.png, 20, 10, True))
    assert ref == again == ImageRef.of(image)
    files = list((tmp_path / "data" / "inputs").iterdir())
    assert [f.name for f in files] == [f"{ref.sha256}.png"]
    assert await store.load_input(ref) == image


async def test_damaged_or_missing_input_is_not_found(store: ImageStore, tmp_path: Path) -> None:
    ref = await store.put_input(InputImage(png=_png(8, 8), width=8, height=8))
    path = tmp_path / "data" / "inputs" / f"{ref.sha256}.png"
    path.write_bytes(b"garbage")
    with pytest.raises(JobNotFound):
        await store.load_input(ref)
    await store.put_input(InputImage(png=_png(8, 8), width=8, height=8))  # repairs it
    assert (await store.load_input(ref)).width == 8
    path.unlink()
    with pytest.raises(JobNotFound) as exc_info:
        await store.load_input(ref)
    assert "gone" in exc_info.value.user_message


def test_png_has_alpha() -> None:
    assert png_has_alpha(_png(4, 4, "RGBA"))
    assert png_has_alpha(_png(4, 4, "LA"))
    assert not png_has_alpha(_png(4, 4, "RGB"))
    assert not png_has_alpha(b"not a png at all, not even close to one")


async def test_schema_is_migrated_once_with_wal(tmp_path: Path) -> None:
    first = await Database.open(tmp_path / "data")
    assert await first.schema_version() == len(MIGRATIONS)
    row = await first.fetchone("PRAGMA journal_mode")
    assert row is not None and row[0] == "wal"
    row = await first.fetchone("PRAGMA foreign_keys")
    assert row is not None and row[0] == 1
    await first.close()
    second = await Database.open(tmp_path / "data")
    rows = await second.fetchall("SELECT version FROM schema_version")
    assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    await second.close()
    assert (tmp_path / "data" / DB_FILENAME).exists()
    by_file = await Database.open(tmp_path / "data" / DB_FILENAME)  # the file itself works too
    assert by_file.path == tmp_path / "data" / DB_FILENAME and by_file.data_dir == tmp_path / "data"
    await by_file.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "data")
    await db.execute("INSERT INTO schema_version (version, applied_at) VALUES (999, 0)")
    await db.close()
    with pytest.raises(StorageUnusable, match="newer"):  # an operator error: easel exits 2
        await Database.open(tmp_path / "data")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO images VALUES ('j', 0, 1, 1, 1, 'p', 'SUCCESS', 0)")
            _ = 1 / 0
    assert await db.fetchall("SELECT * FROM images") == []
    async with db.transaction() as tx:  # the connection is usable again
        assert await tx.execute("INSERT INTO images VALUES ('j', 0, 1, 1, 1, 'p', 'SUCCESS', 0)") == 1
    assert len(await db.fetchall("SELECT * FROM images")) == 1


# Codec ---------------------------------------------------------------------------------------


def _full_request() -> GenerationRequest:
    init = InputImage(png=_png(64, 32), width=64, height=32)
    mask = InputImage(png=_png(64, 32, "L"), width=64, height=32)
    return GenerationRequest(
        operation=Operation.INPAINT,
        prompts=(WeightedPrompt("a red fox, «snow»", 1.0), WeightedPrompt("fog", -1.0)),
        width=1024,
        height=576,
        aspect_ratio="16:9",
        samples=3,
        seed=4294967295,
        steps=30,
        cfg_scale=7.5,
        style_preset="anime",
        sampler="K_EULER",
        scheduler="karras",
        model="sdxl",
        strength=0.35,
        mask_source=MaskSource.BLACK,
        init_image=init,
        mask_image=mask,
        upscale_factor=4,
        outpaint=OutpaintMargins(left=64, right=0, up=128, down=0),
        source=SourceRef("abc123", 2),
        extras=(("hires", "1"), ("tiling", "off")),
    )


async def test_request_round_trips_through_json_and_the_store(store: ImageStore) -> None:
    request = _full_request()
    refs = {
        "init_image": await store.put_input(request.init_image),  # type: ignore[arg-type]
        "mask_image": await store.put_input(request.mask_image),  # type: ignore[arg-type]
    }
    text = json.dumps(request_to_dict(request, refs))
    assert "png" not in json.loads(text)["images"]["init_image"]  # by reference, not by value
    data = json.loads(text)
    wanted = image_refs(data)
    assert wanted == refs
    images = {name: await store.load_input(ref) for name, ref in wanted.items()}
    assert request_from_dict(data, images) == request


def test_minimal_request_round_trips_without_images() -> None:
    request = GenerationRequest(operation=Operation.IMAGINE, prompts=(WeightedPrompt("cat"),))
    data = json.loads(json.dumps(request_to_dict(request)))
    assert image_refs(data) == {}
    assert request_from_dict(data) == request


def test_decoding_without_the_images_or_with_a_bad_document_fails() -> None:
    data = request_to_dict(_full_request())
    with pytest.raises(KeyError):
        request_from_dict(data, {})
    with pytest.raises(ValueError):
        request_from_dict({**data, "v": 99})
    bad = {**data, "images": {"init_image": {"sha256": "../../x", "width": 1, "height": 1}}}
    with pytest.raises(ValueError):
        image_refs(bad)


def test_requester_round_trip() -> None:
    requester = Requester("slack", "U123", "Zoë")
    assert requester_from_dict(json.loads(json.dumps(requester_to_dict(requester)))) == requester
