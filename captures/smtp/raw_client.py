#!/usr/bin/env python3
"""Raw-socket SMTP client for the smtpscope lab: pipelined MAIL/RCPT/DATA, BDAT chunks, and
end-of-data terminators written in pieces with TCP_NODELAY (one segment per piece), so the
capture holds known terminator splits. Writes what it sent and the replies it read to a JSON
file, the expectation for captures whose split terminators tshark 4.0 misreads.

usage: raw_client.py HOST PORT RECORD.json MODE   (MODE: pipelining | splits)
"""
import json
import socket
import sys
import time

HOST, PORT, RECORD, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.create_connection((HOST, PORT), timeout=10)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
buffer = b""
replies = []


def read_reply():
    """One complete (possibly multi-line) reply; returns its code."""
    global buffer
    deadline = time.monotonic() + 10
    while True:
        while b"\r\n" in buffer:
            line, buffer = buffer.split(b"\r\n", 1)
            if len(line) >= 4 and line[3:4] == b" ":
                code = int(line[:3])
                replies.append(code)
                return code
        if time.monotonic() > deadline:
            raise TimeoutError("no reply")
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk


def send(data, pause=0.0):
    sock.sendall(data)
    if pause:
        time.sleep(pause)


def message(n, tag):
    return (f"From: lab@example.com\r\nTo: rcpt@example.org\r\nSubject: {tag} {n}\r\n"
            f"Message-ID: <{tag}-{n}@lab.example.com>\r\n\r\n"
            + "".join(f"line {i} of message {n}\r\n" for i in range(12))
            + ".leading dot line\r\n"
            + f"last line of {n}").encode()


def body_for_wire(body):
    # Dot-stuffing (RFC 5321 4.5.2): a line that starts with '.' gets one more.
    return body.replace(b"\r\n.", b"\r\n..")


transactions = []
read_reply()  # banner
send(b"EHLO raw.lab.example.com\r\n")
read_reply()

if MODE == "pipelining":
    # 1: MAIL, two good RCPT, one refused RCPT and DATA in one write (RFC 2920), whole terminator.
    send(b"MAIL FROM:<pipe@example.com>\r\nRCPT TO:<one@example.org>\r\nRCPT TO:<reject@example.org>\r\n"
         b"RCPT TO:<two@example.org>\r\nDATA\r\n")
    codes = [read_reply() for _ in range(5)]
    send(body_for_wire(message(1, "pipelining")) + b"\r\n.\r\n")
    codes.append(read_reply())
    transactions.append({"mail_from": "pipe@example.com", "rcpt_to": ["one@example.org", "two@example.org"],
                         "message_id": "<pipelining-1@lab.example.com>", "replies": codes, "split_after": []})
    # 2: BDAT in two chunks, the second LAST (RFC 3030).
    body = message(2, "bdat") + b"\r\n"
    half = len(body) // 2
    send(b"MAIL FROM:<bdat@example.com>\r\nRCPT TO:<three@example.org>\r\n")
    codes = [read_reply(), read_reply()]
    send(b"BDAT %d\r\n" % half + body[:half])
    codes.append(read_reply())
    send(b"BDAT %d LAST\r\n" % (len(body) - half) + body[half:])
    codes.append(read_reply())
    transactions.append({"mail_from": "bdat@example.com", "rcpt_to": ["three@example.org"],
                         "message_id": "<bdat-2@lab.example.com>", "replies": codes, "split_after": None})
    # 3: RSET after MAIL, then a message whose terminator is split after byte 2 ("\r\n" | ".\r\n").
    send(b"MAIL FROM:<abandoned@example.com>\r\n")
    read_reply()
    send(b"RSET\r\n")
    read_reply()
    send(b"MAIL FROM:<split2@example.com>\r\nRCPT TO:<four@example.org>\r\nDATA\r\n")
    codes = [read_reply() for _ in range(3)]
    send(body_for_wire(message(3, "split2")) + b"\r\n", 0.05)
    send(b".\r\n")
    codes.append(read_reply())
    transactions.append({"mail_from": "split2@example.com", "rcpt_to": ["four@example.org"],
                         "message_id": "<split2-3@lab.example.com>", "replies": codes, "split_after": [2]})
else:
    # One message per split geometry; the terminator "\r\n.\r\n" written in pieces.
    for n, splits in enumerate([[3], [4], [1, 2, 3, 4], [1, 3]], start=1):
        sender = f"split{n}@example.com"
        envelope = f"MAIL FROM:<{sender}>\r\nRCPT TO:<five@example.org>\r\nDATA\r\n".encode()
        # The MAIL line and a header line are each cut across two segments, too.
        send(envelope[:13], 0.05)
        send(envelope[13:])
        codes = [read_reply() for _ in range(3)]
        body = body_for_wire(message(n, "splits"))
        send(body[:50], 0.05)
        send(body[50:], 0.05)
        terminator = b"\r\n.\r\n"
        last = 0
        for p in splits + [5]:
            send(terminator[last:p], 0.05)
            last = p
        codes.append(read_reply())
        transactions.append({"mail_from": sender, "rcpt_to": ["five@example.org"],
                             "message_id": f"<splits-{n}@lab.example.com>", "replies": codes, "split_after": splits})

send(b"QUIT\r\n")
read_reply()
sock.close()
with open(RECORD, "w") as f:
    json.dump({"mode": MODE, "transactions": transactions, "replies": replies}, f, indent=1)
    f.write("\n")
