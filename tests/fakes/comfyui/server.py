"""A fake ComfyUI host on 127.0.0.1 speaking its HTTP + websocket API.

``GET /object_info`` (from :mod:`.rules`), ``POST /upload/image``, ``POST /prompt`` (the graph is
validated as ComfyUI validates it; a bad one gets ComfyUI's 400 body), ``GET /ws?clientId=``
(``status``, ``execution_start``, ``execution_cached``, ``executing``, ``progress`` per sampler
step with binary JPEG preview frames, ``executed``, ``execution_success``, ``executing`` with
``node: null``), ``GET /history/{id}``, ``GET /view``, ``POST /interrupt``. One GPU: prompts run
one at a time, in order.

It "renders" by walking the graph back from the SaveImage node: a latent from EmptyLatentImage
is the prompt's colour at that size; VAEEncode blends the loaded image with it by ``denoise``;
VAEEncodeForInpaint paints it where the mask is white; upscales resize by 4 × ``scale_by``::

    sent = comfyui_server.prompts[-1]           # the graph easel submitted
    assert sent["3"]["inputs"]["seed"] == 7
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import struct
import uuid
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image

from tests.fakes.comfyui.rules import node_classes, validate

__all__ = ["FakeComfyUI"]


class FakeComfyUI:
    def __init__(self, *, step_delay_s: float = 0.0, previews: bool = True) -> None:
        self.step_delay_s = step_delay_s
        self.previews = previews
        self.inputs: dict[str, bytes] = {}
        self.outputs: dict[str, bytes] = {}
        self.history: dict[str, Any] = {}
        self.prompts: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.interrupts = 0
        self.fail_next_execution: str | None = None  # an exception message for the next prompt
        self._interrupt = asyncio.Event()
        self._sockets: dict[str, web.WebSocketResponse] = {}
        self._queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] = asyncio.Queue()
        # /queue's items: [number, prompt_id, prompt, extra_data, outputs_to_execute]
        self._waiting: list[list[Any]] = []
        self._running: list[list[Any]] = []
        self._worker: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> FakeComfyUI:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        r = app.router
        r.add_get("/object_info", self._object_info)
        r.add_post("/upload/image", self._upload)
        r.add_post("/prompt", self._prompt)
        r.add_get("/ws", self._ws)
        r.add_get("/history/{prompt_id}", self._history)
        r.add_get("/queue", self._queue_handler)
        r.add_get("/view", self._view)
        r.add_post("/interrupt", self._interrupt_handler)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._worker = asyncio.create_task(self._work())
        return self

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for ws in list(self._sockets.values()):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.paths.append(f"{request.method} {request.path}")
        return await handler(request)

    # ---- HTTP -------------------------------------------------------------------------------
    async def _object_info(self, request: web.Request) -> web.Response:
        return web.json_response(node_classes(list(self.inputs)))

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("image")
        if not isinstance(upload, web.FileField):
            return web.Response(status=400, text="no image")
        data = upload.file.read()
        try:
            Image.open(io.BytesIO(data)).verify()
        except OSError:
            return web.Response(status=400, text="not an image")
        name = upload.filename
        if name in self.inputs and form.get("overwrite") != "true":
            stem, _, ext = name.rpartition(".")
            name = f"{stem} (1).{ext}"
        self.inputs[name] = data
        return web.json_response({"name": name, "subfolder": "", "type": "input"})

    async def _prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        graph = body.get("prompt")
        problem = validate(graph, node_classes(list(self.inputs)))
        if problem is not None:
            return web.json_response(problem, status=400)
        prompt_id = str(uuid.uuid4())
        self.prompts.append(graph)
        number = len(self.prompts)
        outputs = [n for n, node in graph.items() if node.get("class_type") == "SaveImage"]
        self._waiting.append([number, prompt_id, graph, {"client_id": body.get("client_id")}, outputs])
        await self._queue.put((prompt_id, str(body.get("client_id", "")), graph))
        return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": {}})

    async def _history(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        return web.json_response({prompt_id: self.history[prompt_id]} if prompt_id in self.history else {})

    async def _queue_handler(self, request: web.Request) -> web.Response:
        return web.json_response({"queue_running": self._running, "queue_pending": self._waiting})

    def forget(self) -> None:
        """The host restarted: what was queued or running is lost, and so is the history."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._waiting.clear()
        self.history.clear()
        if self._worker is not None:
            self._worker.cancel()
            self._running.clear()
            self._worker = asyncio.create_task(self._work())

    async def _view(self, request: web.Request) -> web.Response:
        name = request.query.get("filename", "")
        if request.query.get("type") != "output" or name not in self.outputs:
            return web.Response(status=404)
        return web.Response(body=self.outputs[name], content_type="image/png")

    async def _interrupt_handler(self, request: web.Request) -> web.Response:
        self.interrupts += 1
        self._interrupt.set()
        return web.Response(status=200)

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets[client_id] = ws
        await ws.send_json(
            {
                "type": "status",
                "data": {"status": {"exec_info": {"queue_remaining": self._queue.qsize()}}, "sid": client_id},
            }
        )
        try:
            async for message in ws:
                if message.type is WSMsgType.ERROR:
                    break
        finally:
            self._sockets.pop(client_id, None)
        return ws

    # ---- execution ------------------------------------------------------------------------------
    async def _send(self, client_id: str, kind: str, data: dict[str, Any]) -> None:
        ws = self._sockets.get(client_id)
        if ws is not None and not ws.closed:
            await ws.send_str(json.dumps({"type": kind, "data": data}))

    async def _work(self) -> None:
        while True:
            prompt_id, client_id, graph = await self._queue.get()
            self._running = [item for item in self._waiting if item[1] == prompt_id]
            self._waiting = [item for item in self._waiting if item[1] != prompt_id]
            self._interrupt.clear()
            try:
                await self._execute(prompt_id, client_id, graph)
            finally:
                self._running = []

    async def _execute(self, prompt_id: str, client_id: str, graph: dict[str, Any]) -> None:
        await self._send(client_id, "execution_start", {"prompt_id": prompt_id, "timestamp": 0})
        await self._send(client_id, "execution_cached", {"nodes": [], "prompt_id": prompt_id, "timestamp": 0})
        saved: dict[str, Any] = {}
        for node_id, node in graph.items():
            await self._send(
                client_id, "executing", {"node": node_id, "display_node": node_id, "prompt_id": prompt_id}
            )
            if node["class_type"] == "KSampler":
                steps = int(node["inputs"]["steps"])
                for step in range(1, steps + 1):
                    if self._interrupt.is_set():
                        await self._send(
                            client_id,
                            "execution_interrupted",
                            {
                                "prompt_id": prompt_id,
                                "node_id": node_id,
                                "node_type": "KSampler",
                                "executed": [],
                            },
                        )
                        self.history[prompt_id] = {
                            "prompt": [0, prompt_id, graph, {}, []],
                            "outputs": {},
                            "status": {"status_str": "error", "completed": False, "messages": []},
                        }
                        return
                    await self._send(
                        client_id,
                        "progress",
                        {"value": step, "max": steps, "prompt_id": prompt_id, "node": node_id},
                    )
                    if self.previews and step in (1, steps // 2 or 1):
                        await self._preview(client_id)
                    if self.step_delay_s:
                        await asyncio.sleep(self.step_delay_s)
            if self.fail_next_execution is not None:
                message, self.fail_next_execution = self.fail_next_execution, None
                await self._send(
                    client_id,
                    "execution_error",
                    {
                        "prompt_id": prompt_id,
                        "node_id": node_id,
                        "node_type": node["class_type"],
                        "exception_message": message,
                        "exception_type": "RuntimeError",
                        "traceback": [],
                    },
                )
                self.history[prompt_id] = {
                    "prompt": [0, prompt_id, graph, {}, []],
                    "outputs": {},
                    "status": {"status_str": "error", "completed": False, "messages": []},
                }
                return
            if node["class_type"] == "SaveImage":
                image = self._render(graph, node["inputs"]["images"])
                name = f"{node['inputs']['filename_prefix']}_{len(self.outputs) + 1:05}_.png"
                out = io.BytesIO()
                image.save(out, "PNG", compress_level=1)
                self.outputs[name] = out.getvalue()
                saved[node_id] = {"images": [{"filename": name, "subfolder": "", "type": "output"}]}
                await self._send(
                    client_id,
                    "executed",
                    {
                        "node": node_id,
                        "display_node": node_id,
                        "output": saved[node_id],
                        "prompt_id": prompt_id,
                    },
                )
        self.history[prompt_id] = {
            "prompt": [len(self.history), prompt_id, graph, {"client_id": client_id}, list(saved)],
            "outputs": saved,
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
        await self._send(client_id, "execution_success", {"prompt_id": prompt_id, "timestamp": 0})
        await self._send(client_id, "executing", {"node": None, "prompt_id": prompt_id})

    async def _preview(self, client_id: str) -> None:
        ws = self._sockets.get(client_id)
        if ws is None or ws.closed:
            return
        out = io.BytesIO()
        Image.new("RGB", (64, 64), (128, 128, 128)).save(out, "JPEG")
        await ws.send_bytes(struct.pack(">II", 1, 1) + out.getvalue())

    # ---- rendering --------------------------------------------------------------------------------
    def _render(self, graph: dict[str, Any], link: list[Any]) -> Image.Image:
        node = graph[link[0]]
        kind, inputs = node["class_type"], node["inputs"]
        if kind == "LoadImage":
            return Image.open(io.BytesIO(self.inputs[inputs["image"]])).convert("RGB")
        if kind == "ImageUpscaleWithModel":
            src = self._render(graph, inputs["image"])
            return src.resize((src.width * 4, src.height * 4))
        if kind == "ImageScaleBy":
            src = self._render(graph, inputs["image"])
            return src.resize((round(src.width * inputs["scale_by"]), round(src.height * inputs["scale_by"])))
        if kind == "VAEDecode":
            return self._render(graph, inputs["samples"])
        if kind == "KSampler":
            text = graph[inputs["positive"][0]]["inputs"]["text"]
            digest = hashlib.sha256(f"{text}|{inputs['seed']}".encode()).digest()
            colour = (digest[0], digest[1], digest[2])
            latent = graph[inputs["latent_image"][0]]
            if latent["class_type"] == "EmptyLatentImage":
                return Image.new("RGB", (latent["inputs"]["width"], latent["inputs"]["height"]), colour)
            base = self._render(graph, latent["inputs"]["pixels"])
            paint = Image.new("RGB", base.size, colour)
            if latent["class_type"] == "VAEEncodeForInpaint":
                mask_node = graph[latent["inputs"]["mask"][0]]["inputs"]
                mask = Image.open(io.BytesIO(self.inputs[mask_node["image"]])).convert("RGBA").getchannel("R")
                return Image.composite(
                    paint, base, mask.point(lambda v: 255 if v >= 128 else 0).resize(base.size)
                )
            return Image.blend(base, paint, float(inputs["denoise"]))
        raise AssertionError(f"the fake cannot render {kind}")
