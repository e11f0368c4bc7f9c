#!/usr/bin/env python3
"""smtplib client for the smtpscope lab: two messages in one connection (the second with a
refused recipient), a RSET in between, QUIT.   usage: smtplib_client.py HOST PORT"""
import smtplib
import sys
from email.message import EmailMessage

host, port = sys.argv[1], int(sys.argv[2])


def make(n):
    m = EmailMessage()
    m["From"] = "alice@example.com"
    m["To"] = "bob@example.org"
    m["Subject"] = f"smtplib {n}"
    m["Message-ID"] = f"<smtplib-{n}@lab.example.com>"
    m.set_content(f"Message {n} from smtplib.\n" + "filler line\n" * 20)
    return m


with smtplib.SMTP(host, port, local_hostname="smtplib.lab.example.com", timeout=10) as s:
    s.ehlo()
    s.send_message(make(1), to_addrs=["bob@example.org"])
    s.rset()
    refused = s.send_message(make(2), to_addrs=["reject@example.org", "carol@example.org"])
    assert "reject@example.org" in refused, refused
