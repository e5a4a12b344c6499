"""The few DOM calls the page makes, in one place: make an element, fill it with text, keep a list bounded.

Text goes in through ``textContent`` only, never as HTML: what another member sends cannot become
markup or script on this page. The document is the browser's (``js.document`` under Pyodide) or
the tests' fake with the same methods (``getElementById``, ``createElement``; on elements
``textContent``, ``className``, ``hidden``, ``value``, ``setAttribute``, ``appendChild``,
``replaceChildren``, ``firstChild``, ``removeChild``, ``childElementCount``).
"""

from __future__ import annotations

from typing import Any


def element(
    document: Any, tag: str, text: str | None = None, cls: str | None = None, **attributes: str
) -> Any:
    """A new ``tag`` element: ``text`` as text, class ``cls``, ``attributes`` (``data_x`` is ``data-x``)."""
    node = document.createElement(tag)
    if text is not None:
        node.textContent = text
    if cls:
        node.className = cls
    for name, value in attributes.items():
        node.setAttribute(name.replace("_", "-"), value)
    return node


def append_bounded(parent: Any, child: Any, limit: int) -> None:
    """Append ``child``, dropping the oldest children beyond ``limit``; keep the newest in view."""
    parent.appendChild(child)
    while int(parent.childElementCount) > limit:
        parent.removeChild(parent.firstChild)
    height = getattr(parent, "scrollHeight", None)
    if height is not None:
        parent.scrollTop = height


def set_text(document: Any, element_id: str, text: str, cls: str | None = None) -> Any:
    """Put ``text`` into the element ``element_id`` (and class ``cls`` if given); the element."""
    node = document.getElementById(element_id)
    node.textContent = text
    if cls is not None:
        node.className = cls
    return node
