"""The mail server: one SMTP connection per run, STARTTLS whenever the server offers it.

The only module that speaks SMTP. It sorts every failure into the two the sender acts
on: `Refused` (a permanent 5xx: that address is never retried), `Unavailable` (a 4xx,
a lost connection, a timeout: try again later) and `Unusable` (settings that cannot work).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

from kiosk.core.wire import Text, Whole

PORT = Whole(1, 65535)
TIMEOUT = Whole(1, 300)  # seconds for one SMTP exchange
HOST = Text(1, 253)
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class MailError(Exception):
    """The mail server did not take a message."""


class Refused(MailError):
    """A permanent refusal (5xx): sending the same message again would fail the same way."""


class Unavailable(MailError):
    """A temporary failure (4xx, no connection, a timeout): worth another try later."""


class Unreachable(Unavailable):
    """No mail server to talk to (refused connection, timeout): the run stops here."""


class Unusable(MailError):
    """The settings cannot work (a refused login, a password that would go in clear):
    nothing more is tried until the operator fixes them."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages over, from the central's options."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False  # TLS from the first byte (port 465) instead of STARTTLS
    timeout: int = 30
    ca_file: str | None = None  # trust this CA (a private mail server) besides the system's

    def __post_init__(self) -> None:
        for name, rule in (("smtp host", HOST), ("smtp port", PORT), ("smtp timeout", TIMEOUT)):
            problem = rule.problem(name, getattr(self, name.removeprefix("smtp ")))
            if problem is not None:
                raise ValueError(problem)
        if (self.username is None) != (self.password is None):
            raise ValueError("give both the SMTP user and its password, or neither")

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def _code(error: smtplib.SMTPException) -> int:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else 0
    return int(getattr(error, "smtp_code", 0) or 0)


def _why(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                 for code, text in error.recipients.values()]
        return "; ".join(parts) or "recipient refused"
    text = getattr(error, "smtp_error", None)
    if isinstance(text, bytes):
        return f"{getattr(error, 'smtp_code', '')} {text.decode(errors='replace')}".strip()
    return f"{error.__class__.__name__}: {error}".strip()


class Mailer:
    """An SMTP session opened on first use; `with Mailer(settings) as mail: mail.send(m)`."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.implicit_tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.tls_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            secure = s.implicit_tls
            if not s.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=s.tls_context())
                smtp.ehlo()
                secure = True
            if s.username is not None and s.password is not None:
                if not secure and s.host not in LOOPBACK:
                    raise Unusable(f"the mail server {s.host} offers no STARTTLS: the password "
                                  "is not sent in clear; use --smtp-ssl or a server with TLS")
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand one message over; Refused or Unavailable when it was not taken."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            raise Unusable(f"the mail server refused the login: {_why(error)} "
                              "(check --smtp-user and the password)") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as error:
            self.close()
            raise self._unreachable(error) from None
        # an SMTPException is an OSError too: the server's answers are sorted first
        except smtplib.SMTPException as error:
            code = _code(error)
            self._reset()
            if 500 <= code < 600:
                raise Refused(_why(error)) from None
            raise Unavailable(_why(error)) from None
        except OSError as error:
            self.close()
            raise self._unreachable(error) from None

    def _unreachable(self, error: BaseException) -> Unreachable:
        return Unreachable(f"cannot reach the mail server {self.settings.host}:"
                           f"{self.settings.port}: {_why(error)}")

    def _reset(self) -> None:
        # after a refused envelope the session must be reset before the next message
        if self._smtp is not None:
            try:
                self._smtp.rset()
            except (smtplib.SMTPException, OSError):
                self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
