"""E-mail delivery of a written digest over SMTP (optional; off by default).

The password comes from the environment only (`TRENDSCOUT_MAIL__PASSWORD`) and is never logged: it is a
SecretStr until the moment it is handed to `smtplib`.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from pipelines.errors import ConfigError
from pipelines.settings import MailSettings

logger = logging.getLogger(__name__)


def mail_of(settings) -> MailSettings:
    """`settings.mail` (one seam for tests to replace)."""
    return settings.mail


def digest_message(folder: Path, mail: MailSettings) -> EmailMessage:
    """The digest as a multipart message: Markdown as the text part, the HTML as the HTML part with the chart
    files beside it attached as inline images (multipart/related, `src="cid:..."`), which mail clients show."""
    content = json.loads((folder / "digest.json").read_text(encoding="utf-8"))
    summary = content.get("summary", {})
    n_passed = summary.get("n_passed", len(content["themes"]))
    message = EmailMessage()
    message["Subject"] = (f"trendscout digest {content['week']}: " + (
        f"{n_passed} rising theme{'' if n_passed == 1 else 's'}" if n_passed else "nothing passed the test"))
    message["From"] = mail.sender
    message["To"] = ", ".join(mail.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="trendscout.local")
    message.set_content((folder / "digest.md").read_text(encoding="utf-8"))
    html = (folder / "digest.html").read_text(encoding="utf-8")
    charts = {path.name: make_msgid(domain="trendscout.local") for path in sorted(folder.glob("chart-topic-*.png"))
              if f'src="{path.name}"' in html}
    for name, cid in charts.items():
        html = html.replace(f'src="{name}"', f'src="cid:{cid[1:-1]}"')
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    for name, cid in charts.items():
        html_part.add_related((folder / name).read_bytes(), "image", "png", cid=cid, filename=name,
                              disposition="inline")
    return message


def send_digest(folder: Path, mail: MailSettings) -> int:
    """Send the digest in `folder` to every recipient; return how many were accepted."""
    if not mail.recipients:
        raise ConfigError("mail is enabled but [mail] recipients is empty")
    if mail.security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"[mail] security must be starttls, ssl or none, not {mail.security!r}")
    message = digest_message(folder, mail)
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if mail.security == "ssl" else smtplib.SMTP
    kwargs = {"context": context} if mail.security == "ssl" else {}
    with smtp_class(mail.host, mail.port, timeout=mail.timeout_s, **kwargs) as smtp:
        if mail.security == "starttls":
            smtp.starttls(context=context)
        if mail.username:
            if mail.password is None:
                raise ConfigError("[mail] username is set but TRENDSCOUT_MAIL__PASSWORD is not")
            smtp.login(mail.username, mail.password.get_secret_value())
        refused = smtp.send_message(message)
    accepted = len(mail.recipients) - len(refused)
    logger.info("digest: mailed %s to %d of %d recipients via %s:%d", folder.name, accepted, len(mail.recipients),
                mail.host, mail.port)
    return accepted
