#!/usr/bin/env python3
"""Hand one message of an exact size (CRLF bytes, as the relay will send it)
to the sending Postfix over SMTP on loopback (stdlib smtplib)."""
import argparse
import email.utils
import json
import smtplib

p = argparse.ArgumentParser()
p.add_argument("--server", default="127.0.0.1")
p.add_argument("--size", type=int, required=True)
p.add_argument("--tag", required=True)
p.add_argument("--mail-from", default="alice@example.org")
p.add_argument("--rcpt", default="bob@example.net")
p.add_argument("--date", type=float, default=1764000000.0)
p.add_argument("--out", required=True)
a = p.parse_args()

mid = f"<{a.tag}@lab.example.org>"
hdr = (f"From: Lab Sender <{a.mail_from}>\r\nTo: <{a.rcpt}>\r\nSubject: smtpscope lab {a.tag}\r\n"
       f"Date: {email.utils.formatdate(a.date)}\r\nMessage-ID: {mid}\r\n\r\n")
body = ""
i = 0
while len(hdr) + len(body) + 80 < a.size:
    body += f"line {i:05d} of the smtpscope lab test message, padding text here\r\n"
    i += 1
pad = a.size - len(hdr) - len(body) - 2
body += ("z" * max(0, pad)) + "\r\n"
msg = hdr + body
assert len(msg) == a.size, (len(msg), a.size)
with smtplib.SMTP(a.server, 25, timeout=20) as s:
    s.sendmail(a.mail_from, [a.rcpt], msg.encode())
json.dump({"message_id": mid, "size": len(msg), "mail_from": a.mail_from, "rcpt_to": [a.rcpt]},
          open(a.out, "w"), indent=1)
