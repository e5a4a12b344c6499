"""What the user typed, performed on the session: the one place where commands meet the core.

Both clients hand each typed line to :meth:`CommandRunner.submit`. It is parsed
(:mod:`chat.ui.commands`); questions (``/who``, ``/verify``, ``/cert``, ``/accept``, ``/refuse``,
``/cancel``) are answered at once; messages, ``/join``, ``/leave``, ``/send`` and ``/trust`` go
out one after another in the order typed, from :meth:`CommandRunner.run`; what only a view can
do (help, panels, quitting) goes back to the view. Every answer and every failure reaches the
view as an event of :mod:`chat.client.events`, so that both clients word it with the same table
(:mod:`chat.ui.text`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from chat.app.chat_session import ChatSession
from chat.client import events as ev
from chat.client.errors import ClientError
from chat.transfer.errors import TransferError
from chat.ui import commands as cmd


class View(Protocol):
    """What a client does with the runner's results."""

    def show(self, event: ev.ChatEvent) -> None:
        """Put an answer or a failure in front of the user."""

    def view_command(self, command: cmd.ViewCommand) -> None:
        """Help, a panel, quitting: the view's own business (or a one-line refusal)."""

    def report_internal(self, exc: BaseException) -> None:
        """A bug of ours, in one line; the client goes on."""


class CommandRunner:
    """Typed lines to the session (see the module notes); ``session`` is None until one is open."""

    def __init__(self, view: View, session: ChatSession | None = None) -> None:
        self.view = view
        self.session = session
        self._actions: deque[cmd.Action] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, line: str) -> cmd.Command | None:
        """Parse ``line`` and perform it (an action is queued); a mistake is shown as an error."""
        try:
            command = cmd.parse(line)
        except cmd.CommandError as exc:
            self.view.show(ev.ErrorEvent(exc.code, str(exc)))
            return None
        if command is not None:
            self.perform(command)
        return command

    def perform(self, command: cmd.Command) -> None:
        """Answer a question now, queue an action, or hand a view command to the view."""
        if isinstance(command, cmd.ViewCommand):
            self.view.view_command(command)
        elif isinstance(command, cmd.Action):
            self._actions.append(command)
            self._idle.clear()
            self._ready.set()
        else:
            answer = self._answer(command)
            if answer is not None:
                self.view.show(answer)

    def pending(self) -> list[str]:
        """The messages typed but not taken up yet."""
        return [action.text for action in self._actions if isinstance(action, cmd.Say)]

    async def drain(self) -> None:
        """Until every queued action has been performed."""
        await self._idle.wait()

    async def run(self) -> None:
        """Perform the queued actions in order, for as long as the client runs."""
        while True:
            await self._ready.wait()
            while self._actions:
                action = self._actions.popleft()
                try:
                    shown = await self._act(action)
                except Exception as exc:
                    self.view.report_internal(exc)
                    continue
                if shown is not None:
                    self.view.show(shown)
            self._ready.clear()
            self._idle.set()

    def _answer(self, command: cmd.Question) -> ev.ChatEvent | None:
        """The answer to ``command``; None when the session's own events say it (an offer answered)."""
        session = self.session
        if session is None:
            return _not_connected()
        try:
            if isinstance(command, cmd.Who):
                return session.who()
            if isinstance(command, cmd.Verify):
                return session.verify(command.alias)
            if isinstance(command, cmd.Cert):
                return session.certificate(command.alias)
            if isinstance(command, cmd.AnswerOffer):
                session.answer_offer(command.which, command.accept)
                return None
            return session.cancel_transfers()
        except ClientError as exc:
            return ev.ErrorEvent(exc.code, exc.message)
        except TransferError as exc:
            return ev.ErrorEvent("no_offer", exc.message)

    async def _act(self, action: cmd.Action) -> ev.ChatEvent | None:
        """Perform ``action``: an error event if it failed, the answer to ``/trust``, or None (its
        success shows in the session's events)."""
        session = self.session
        if session is None:
            return _not_connected()
        try:
            if isinstance(action, cmd.Say):
                await session.say(action.text)
            elif isinstance(action, cmd.JoinRoom):
                await session.join(action.room, action.cipher, action.kex)
            elif isinstance(action, cmd.Leave):
                await session.leave()
            elif isinstance(action, cmd.Trust):
                return await session.trust(action.alias)
            else:
                await session.send_file(action.path)
        except TransferError as exc:
            return ev.ErrorEvent("not_sent", exc.message)
        except ValueError as exc:
            return ev.ErrorEvent("too_large", f"not sent: {exc}")
        except ClientError as exc:
            if isinstance(action, cmd.Say):
                return ev.ErrorEvent(exc.code, f"not sent ({exc.message}): {action.text}")
            return ev.ErrorEvent(exc.code, exc.message)
        return None


def _not_connected() -> ev.ErrorEvent:
    return ev.ErrorEvent("not_connected", "not connected: fill in the join screen first")
