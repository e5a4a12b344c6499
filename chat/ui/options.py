"""What both chat clients are started with: the command line of ``python -m chat client``, checked.

Files it names (``--ca``, ``--cert``) are read by :func:`load_files` before anything opens, so a
bad one is one line on stderr, as in every other command.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from chat.app.chat_session import SessionOptions
from chat.client.backoff import Backoff
from chat.client.chat_client import DEFAULT_HOST, DEFAULT_PORT
from chat.e2e.certificates import Certificate, read_ca_public_key, read_certificate
from chat.protocol.limits import MiB
from chat.transfer.policy import Consent, OfferPolicy
from ciphers.errors import CryptoError
from ciphers.rsa.keys import RSAPublicKey

DEFAULT_ROOM = "lobby"


@dataclass(frozen=True)
class ClientOptions:
    """The command line of ``python -m chat client``, as the line client and the Textual client use it."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    alias: str | None = None
    room: str | None = None
    cipher: str | None = None
    kex: str | None = None
    identity: str | None = None  # --identity DIR; None: per alias under the config directory
    ephemeral: bool = False
    ca: str | None = None
    cert: str | None = None
    downloads: str | None = None
    accept_files: bool = False  # --accept-files: offers that pass the quotas are accepted unasked
    quota_per_sender: float | None = None  # MiB accepted from one member (None: the policy's default)
    quota_total: float | None = None  # MiB accepted in all
    transfers_at_once: int | None = None
    reconnect_for: float | None = None  # seconds of reconnecting after a drop (None: the default)
    json: bool = False
    hold_timeout: float = 3.0

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ClientOptions:
        """From the parsed arguments of ``python -m chat client``."""
        return cls(
            host=args.host,
            port=args.port,
            alias=args.alias,
            room=args.room,
            cipher=args.cipher,
            kex=args.kex,
            identity=args.identity,
            ephemeral=bool(args.ephemeral),
            ca=args.ca,
            cert=args.cert,
            downloads=args.downloads,
            accept_files=bool(args.accept_files),
            quota_per_sender=args.quota_per_sender,
            quota_total=args.quota_total,
            transfers_at_once=args.transfers_at_once,
            reconnect_for=args.reconnect_for,
            json=bool(args.json),
            hold_timeout=args.hold_timeout,
        )

    @property
    def skip_join_screen(self) -> bool:
        """Both an alias and a room were given: the Textual client joins at once."""
        return self.alias is not None and self.room is not None

    @property
    def backoff(self) -> Backoff | None:
        """When to reconnect: for ``reconnect_for`` seconds if given (0: never), else the defaults."""
        if self.reconnect_for is None:
            return None
        return Backoff(max_attempts=None, max_total=self.reconnect_for)

    def files(self, *, ask: bool) -> OfferPolicy:
        """Which file offers to accept: all that pass the quotas with ``--accept-files``, else those
        the user says yes to when the client can ``ask`` (the Textual client), else none."""
        consent = Consent.ACCEPT if self.accept_files else Consent.ASK if ask else Consent.REFUSE
        limits: dict[str, int] = {}
        if self.quota_per_sender is not None:
            limits["per_sender"] = round(self.quota_per_sender * MiB)
        if self.quota_total is not None:
            limits["total"] = round(self.quota_total * MiB)
        if self.transfers_at_once is not None:
            limits["at_once"] = self.transfers_at_once
        return OfferPolicy(consent, **limits)

    def session(
        self,
        alias: str,
        *,
        ca: RSAPublicKey | None,
        certificate: Certificate | None,
        client_name: str,
        ask: bool = False,
        host: str | None = None,
        port: int | None = None,
        backoff: Backoff | None = None,
    ) -> SessionOptions:
        """The application core's options for ``alias`` (and the server, if the join screen chose
        one); ``ask``: the client can ask the user about file offers."""
        return SessionOptions(
            alias,
            host if host is not None else self.host,
            port if port is not None else self.port,
            identity_dir=self.identity,
            ephemeral=self.ephemeral,
            ca=ca,
            certificate=certificate,
            downloads=self.downloads,
            files=self.files(ask=ask),
            hold_timeout=self.hold_timeout,
            client_name=client_name,
            backoff=backoff if backoff is not None else self.backoff,
        )


def load_files(options: ClientOptions) -> tuple[RSAPublicKey | None, Certificate | None]:
    """The CA key (``--ca``) and our certificate (``--cert``); UsageError in one line if unreadable."""
    from ciphers.cli.common import UsageError  # the command line's (and rich's): not in the browser

    ca = certificate = None
    try:
        if options.ca is not None:
            ca = read_ca_public_key(options.ca)
        if options.cert is not None:
            certificate = read_certificate(options.cert)
    except CryptoError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
    return ca, certificate
