"""A running Gradio app driven over its HTTP API the way a page drives it, for benchmarks.

One kept-alive connection and one session: a run is ``POST /gradio_api/call/<api>`` and the server-sent events
of ``GET /gradio_api/call/<api>/<event id>``; every picture an update shows is fetched once, as the page does to
draw it. ``gradio_client`` adds about 80 ms to every job (measured against an empty generator: 90 ms to its
first update against 8 ms here) and polls in a loop that takes CPU from the server on a 2-core machine, so it
is not used to time the app.
"""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx


class AppDriver:
    """Calls the named endpoints of the Gradio app at ``url`` in one session (so ``gr.State`` carries over)."""

    def __init__(self, url: str, timeout: float = 300.0) -> None:
        self.url = url.rstrip("/") + "/gradio_api"
        self.http = httpx.Client(timeout=timeout)
        self.session_hash = secrets.token_hex(8)
        self.endpoints = self.http.get(f"{self.url}/info").raise_for_status().json()["named_endpoints"]
        self.fetched: set[str] = set()

    def close(self) -> None:
        self.http.close()

    def upload(self, path: Path) -> dict:
        """A local file sent to the server, as the value a file input takes."""
        with open(path, "rb") as f:
            response = self.http.post(f"{self.url}/upload", files={"files": (Path(path).name, f)})
        (server_path,) = response.raise_for_status().json()
        return {"path": server_path, "orig_name": Path(path).name, "meta": {"_type": "gradio.FileData"}}

    def arguments(self, api_name: str, kwargs: dict) -> list:
        """The endpoint's inputs in order: ``kwargs`` by parameter name, the rest their defaults."""
        params = self.endpoints[f"/{api_name}"]["parameters"]
        unknown = set(kwargs) - {p["parameter_name"] for p in params}
        if unknown:
            raise ValueError(f"/{api_name} has no parameter {sorted(unknown)}")
        return [kwargs.get(p["parameter_name"], p.get("parameter_default")) for p in params]

    def stream(self, api_name: str, **kwargs) -> Iterator[list]:
        """Each update of one run (its outputs in order), once the pictures it shows are fetched; an error
        event raises ``RuntimeError`` with the server's message."""
        body = {"data": self.arguments(api_name, kwargs), "session_hash": self.session_hash}
        event_id = self.http.post(f"{self.url}/call/{api_name}", json=body).raise_for_status().json()["event_id"]
        event = None
        with self.http.stream("GET", f"{self.url}/call/{api_name}/{event_id}") as response:
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("generating", "complete", "error"):
                    data = json.loads(line.removeprefix("data:"))
                    if event == "error":
                        raise RuntimeError(f"/{api_name} failed: {data}")
                    if data is not None:
                        self._fetch_pictures(data)
                        yield data
                    if event == "complete":
                        return

    def call(self, api_name: str, **kwargs) -> list | None:
        """The last update of a run (None if it sent none)."""
        updates = list(self.stream(api_name, **kwargs))
        return updates[-1] if updates else None

    def _fetch_pictures(self, update: list) -> None:
        for value in update:
            url = value.get("url") if isinstance(value, dict) else None
            if isinstance(url, str) and url not in self.fetched:
                self.http.get(url).raise_for_status()
                self.fetched.add(url)
