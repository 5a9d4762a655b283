#!/usr/bin/env python3
"""A real SMTP server on 127.0.0.1 for libchat's SMTP provider tests (Debian: python3-aiosmtpd).

It binds a free port, prints it as the first line on stdout and serves until killed. Every accepted message
is written to --out as msg-<n>.json (written to a temporary name, then renamed, so a reader never sees half a
file) holding the envelope, how the session was secured and authenticated, and the message as Python's email
package parses it:

  mail_from, rcpt_tos         the envelope (MAIL FROM / RCPT TO)
  tls, auth_mechanism, login  TLS in use when DATA arrived; the AUTH mechanism and user name (null without)
  subject, from, to, reply_to, message_id, date, content_type   decoded header values (null when absent)
  text, html                  the decoded text/plain and text/html bodies with CRLF turned into "\\n"
  defects                     parser defects of every part (empty for a well-formed message)
  raw                         the message as received (after SMTP dot-unstuffing)

Options:
  --out DIR                     where to write the JSON files (required)
  --auth USER:PASSWORD          offer AUTH (PLAIN and LOGIN) and require it before MAIL FROM
  --auth-mechanisms M[,M]       offer only these mechanisms (e.g. PLAIN or LOGIN)
  --auth-require-tls            offer AUTH only after STARTTLS
  --tls-cert FILE --tls-key FILE   offer STARTTLS with this certificate
  --require-starttls            refuse everything but EHLO/STARTTLS/QUIT before STARTTLS
  --implicit-tls                TLS from the first byte (smtps) instead of STARTTLS
  --reject-rcpt ADDR            answer RCPT TO:<ADDR> with 550 (repeatable)
  --defer-rcpt ADDR             answer RCPT TO:<ADDR> with 451 (repeatable)
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # the C++ test checks for this before starting the server, and reports it
    sys.stderr.write("smtp_server.py: aiosmtpd is not installed (Debian: apt-get install python3-aiosmtpd)\n")
    sys.exit(3)

ALL_MECHANISMS = ("PLAIN", "LOGIN")


def text_of(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return part.get_content().replace("\r\n", "\n")


def header(message, name):
    value = message[name]
    return None if value is None else str(value)


class Recorder:
    def __init__(self, out_dir, reject, defer):
        self.out_dir = out_dir
        self.reject = {a.lower() for a in reject}
        self.defer = {a.lower() for a in defer}
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower() in self.defer:
            return "451 4.3.0 <%s>: Temporary lookup failure" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        defects = [str(d) for part in message.walk() for d in part.defects]
        auth = session.auth_data if isinstance(session.auth_data, dict) else {}
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": tls,
            "auth_mechanism": auth.get("mechanism"),
            "login": auth.get("login"),
            "subject": header(message, "Subject"),
            "from": header(message, "From"),
            "to": header(message, "To"),
            "reply_to": header(message, "Reply-To"),
            "message_id": header(message, "Message-ID"),
            "date": header(message, "Date"),
            "content_type": message.get_content_type(),
            "text": text_of(message, "plain"),
            "html": text_of(message, "html"),
            "defects": defects,
            "raw": raw.decode("utf-8", errors="replace"),
        }
        self.count += 1
        path = os.path.join(self.out_dir, "msg-%d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 OK queued as msg-%d" % self.count


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        if not ok:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data={"mechanism": mechanism, "login": user})
    return authenticate


def main():
    parser = argparse.ArgumentParser(description="SMTP test server (aiosmtpd) that records messages as JSON")
    parser.add_argument("--out", required=True)
    parser.add_argument("--auth")
    parser.add_argument("--auth-mechanisms", default=",".join(ALL_MECHANISMS))
    parser.add_argument("--auth-require-tls", action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--reject-rcpt", action="append", default=[])
    parser.add_argument("--defer-rcpt", action="append", default=[])
    args = parser.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    kwargs = {"hostname": "smtp.test", "ident": "libchat-test-smtpd"}
    if args.auth:
        user, _, password = args.auth.partition(":")
        offered = {m.strip().upper() for m in args.auth_mechanisms.split(",") if m.strip()}
        kwargs.update(authenticator=make_authenticator(user, password), auth_required=True,
                      auth_require_tls=args.auth_require_tls,
                      auth_exclude_mechanism=[m for m in ALL_MECHANISMS if m not in offered])
    if context is not None and not args.implicit_tls:
        kwargs.update(tls_context=context, require_starttls=args.require_starttls)

    handler = Recorder(args.out, args.reject_rcpt, args.defer_rcpt)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, loop=loop, **kwargs), host="127.0.0.1", port=0,
        ssl=context if args.implicit_tls else None))
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
