"""Handing one message to the SMTP server (or keeping it in the Outbox without one)."""

from __future__ import annotations

import functools
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from userbatch.settings import Settings


def delivered(transport: str) -> str:
    """The state of a message handed to ``transport``: "sent" by SMTP, "kept" in the Outbox
    when no SMTP server is set (nothing left the machine)."""
    return "kept" if transport == "outbox" else "sent"


def deliver(settings: Settings, *, recipient: str, subject: str, body: str) -> str:
    """Hand one message to the SMTP server of ``SMTP_URL``; returns the transport used.

    Without ``SMTP_URL`` nothing leaves the machine: the message is kept in the Outbox
    ('outbox'). Raises ``smtplib.SMTPException`` or ``OSError`` when the server refuses or
    cannot be reached.
    """
    if not settings.smtp_url:
        return "outbox"
    url = urlsplit(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    host, port = url.hostname or "localhost", url.port
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port or 465, timeout=30, context=_tls())
    else:
        client = smtplib.SMTP(host, port or 587, timeout=30)
    with client:
        if url.scheme == "smtp":
            client.ehlo()
            require = "starttls=require" in (url.query or "")
            if client.has_extn("starttls") or require:
                client.starttls(context=_tls())
                client.ehlo()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
    return "smtp"


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings of every connection to the SMTP server, made once a process: making
    them reads the system's certificates, which took longer than sending a message."""
    return ssl.create_default_context()
