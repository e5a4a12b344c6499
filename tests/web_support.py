"""Fakes of what the browser gives the page's Python: a document built from the real index.html,
localStorage, and a WebSocket; for the CPython tests of :mod:`chat.web` (no browser)."""

from __future__ import annotations

import asyncio
import html.parser
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent.parent / "chat" / "web" / "static"


class FakeElement:
    """An element with the members the page uses (:mod:`chat.web.dom` lists them)."""

    def __init__(self, tag: str, attributes: dict[str, str | None] | None = None) -> None:
        self.tag = tag
        self.attributes: dict[str, str] = {k: v or "" for k, v in (attributes or {}).items()}
        self.children: list[FakeElement] = []
        self._text = ""
        self.hidden = "hidden" in self.attributes
        self.value = self.attributes.get("value", "")
        self.className = self.attributes.get("class", "")
        self.scrollTop = 0
        self.scrollHeight = 0

    @property
    def textContent(self) -> str:
        return self._text + "".join(child.textContent for child in self.children)

    @textContent.setter
    def textContent(self, text: str) -> None:
        self.children = []
        self._text = text

    def setAttribute(self, name: str, value: str) -> None:
        self.attributes[name] = value

    def getAttribute(self, name: str) -> str | None:
        return self.attributes.get(name)

    def appendChild(self, child: FakeElement) -> FakeElement:
        self.children.append(child)
        return child

    def removeChild(self, child: FakeElement) -> FakeElement:
        self.children.remove(child)
        return child

    def replaceChildren(self, *children: FakeElement) -> None:
        self._text = ""
        self.children = list(children)

    @property
    def firstChild(self) -> FakeElement | None:
        return self.children[0] if self.children else None

    @property
    def childElementCount(self) -> int:
        return len(self.children)

    def find(self, predicate: Callable[[FakeElement], bool]) -> list[FakeElement]:
        """Every element below this one (depth first) for which ``predicate`` holds."""
        found = []
        for child in self.children:
            if predicate(child):
                found.append(child)
            found.extend(child.find(predicate))
        return found


class _IdCollector(html.parser.HTMLParser):
    """The elements with an id, each with the text written directly inside it."""

    VOID = frozenset({"input", "meta", "link", "br", "img"})

    def __init__(self) -> None:
        super().__init__()
        self.elements: dict[str, FakeElement] = {}
        self._open: list[FakeElement | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        node = FakeElement(tag, attributes) if attributes.get("id") else None
        if node is not None:
            self.elements[str(attributes["id"])] = node
        if tag not in self.VOID:
            self._open.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1] is not None:
            self._open[-1].textContent += data.strip()


class FakeDocument:
    """The elements with an id in ``index.html`` (an id the page does not have is a KeyError)."""

    def __init__(self, page: Path = STATIC / "index.html") -> None:
        collector = _IdCollector()
        collector.feed(page.read_text("utf-8"))
        self.elements = collector.elements

    def getElementById(self, element_id: str) -> FakeElement:
        return self.elements[element_id]

    def createElement(self, tag: str) -> FakeElement:
        return FakeElement(tag)

    def text(self, element_id: str) -> str:
        return self.elements[element_id].textContent


class FakeStorage:
    """localStorage: a map of strings with the Web Storage methods."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    @property
    def length(self) -> int:
        return len(self.items)

    def key(self, index: int) -> str | None:
        keys = list(self.items)
        return keys[index] if 0 <= index < len(keys) else None

    def getItem(self, key: str) -> str | None:
        return self.items.get(key)

    def setItem(self, key: str, value: str) -> None:
        self.items[key] = str(value)

    def removeItem(self, key: str) -> None:
        self.items.pop(key, None)


class FakeEvent:
    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class FakeWebSocket:
    """A browser WebSocket the test plays the relay for: ``sent`` holds each text message sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: list[str] = []
        self.listeners: dict[str, list[Callable[..., None]]] = {}
        self.bufferedAmount = 0
        self.closed = False

    def addEventListener(self, kind: str, callback: Callable[..., None]) -> None:
        self.listeners.setdefault(kind, []).append(callback)

    def fire(self, kind: str, **fields: Any) -> None:
        for callback in self.listeners.get(kind, []):
            callback(FakeEvent(**fields))

    def send(self, text: str) -> None:
        assert isinstance(text, str), "the contract: text messages only"
        self.sent.append(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.fire("close", code=1000, reason="")


class RelayWebSocket(FakeWebSocket):
    """A WebSocket whose far end is a real TCP relay on 127.0.0.1: each text message sent goes out
    length-prefixed, each frame that comes back arrives as one message (the contract's bridge)."""

    def __init__(self, url: str, port: int) -> None:
        super().__init__(url)
        self._writer: asyncio.StreamWriter | None = None
        self._task = asyncio.ensure_future(self._run(port))

    async def _run(self, port: int) -> None:
        try:
            reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            self.closed = True
            self.fire("error")
            self.fire("close", code=1006, reason="")
            return
        self.fire("open")
        try:
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                self.fire("message", data=(await reader.readexactly(length)).decode("utf-8"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if not self.closed:
            self.closed = True
            self.fire("close", code=1006, reason="the relay closed the connection")

    def send(self, text: str) -> None:
        super().send(text)
        assert self._writer is not None
        data = text.encode("utf-8")
        self._writer.write(struct.pack(">I", len(data)) + data)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        super().close()
