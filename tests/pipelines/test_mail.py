"""Digest e-mail against a real SMTP server on 127.0.0.1 (aiosmtpd), with login; the password never logged."""

import email
import io
import logging
import smtplib
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from PIL import Image
from pydantic import SecretStr

from pipelines.settings import Settings
from pipelines.steps import mail as mail_module
from pipelines.steps.digest import write_digest
from pipelines.steps.mail import MailSettings, send_digest
from pipelines.store import Store
from tests.conftest import THIS_WEEK
from tests.pipelines.test_digest_sections import build_store

PASSWORD = "s3cret-smtp-pw"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data.login)
        is_valid = auth_data.login == b"digest" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=is_valid, handled=False)  # handled=False: the server answers 535 itself

    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield controller, inbox, logins
    controller.stop()


@pytest.fixture
def digest_folder(tmp_path):
    settings = Settings(reports_dir=tmp_path)
    with Store.open(":memory:") as store:
        build_store(store)
        return write_digest(store, settings, THIS_WEEK)[1]


def settings_for(controller, **overrides) -> MailSettings:
    return MailSettings(**{"enabled": True, "host": "127.0.0.1", "port": controller.port, "security": "none",
                           "username": "digest", "password": SecretStr(PASSWORD), "sender": "ts@example.test",
                           "recipients": ["a@example.test", "b@example.test"], **overrides})


def test_send_digest_delivers_text_and_html_parts(smtp_server, digest_folder, caplog):
    controller, inbox, logins = smtp_server
    caplog.set_level(logging.DEBUG)
    assert send_digest(digest_folder, settings_for(controller)) == 2
    (recipients, message), = inbox.messages
    assert recipients == ["a@example.test", "b@example.test"] and logins == [b"digest"]
    assert message["Subject"] == f"trendscout digest {THIS_WEEK}: 2 rising themes"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html and "\\<script\\>" in text
    assert PASSWORD not in caplog.text and PASSWORD not in repr(settings_for(controller))


def test_mailed_digest_carries_its_charts_as_inline_images(smtp_server, digest_folder):
    controller, inbox, _ = smtp_server
    send_digest(digest_folder, settings_for(controller))
    (_, message), = inbox.messages
    html_part = message.get_body(("related",))
    assert html_part.get_content_type() == "multipart/related"
    html = message.get_body(("html",)).get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert sorted(p.get_filename() for p in images) == ["chart-topic-1.png", "chart-topic-4.png"]
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html and image.get_content_disposition() == "inline"
        data = image.get_content()  # decoded bytes: a PNG that opens, the same as the file beside digest.html
        assert data == (digest_folder / image.get_filename()).read_bytes()
        with Image.open(io.BytesIO(data)) as picture:
            assert picture.format == "PNG" and picture.size == (640, 260)
    assert 'src="chart-topic-' not in html


def test_send_digest_with_wrong_password_fails_loudly(smtp_server, digest_folder):
    controller, inbox, _ = smtp_server
    with pytest.raises(smtplib.SMTPAuthenticationError):
        send_digest(digest_folder, settings_for(controller, password=SecretStr("wrong")))
    assert inbox.messages == []


def test_write_digest_mails_when_enabled_and_survives_a_dead_server(smtp_server, tmp_path, monkeypatch, caplog):
    controller, inbox, _ = smtp_server
    settings = Settings(reports_dir=tmp_path)
    with Store.open(":memory:") as store:
        build_store(store)
        monkeypatch.setattr(mail_module, "mail_of", lambda _: settings_for(controller))
        result, _ = write_digest(store, settings, THIS_WEEK)
        assert result.counts["mailed"] == 2 and len(inbox.messages) == 1
        monkeypatch.setattr(mail_module, "mail_of", lambda _: settings_for(controller, port=free_port()))
        result, folder = write_digest(store, settings, THIS_WEEK)
    assert result.errors and result.errors[0].startswith("mail:") and (folder / "digest.html").is_file()
    assert PASSWORD not in caplog.text
