#!/usr/bin/env python3
"""Write a scenario's truth.json from what the lab did (stdlib + tshark).

Inputs are the lab's own records: the Python client's JSON, the middlebox's
decision log, the Postfix logs, and the captures. From each capture tshark
gives the TCP flows on port 25 and, for every CRLF.CRLF in a client stream,
the frames that carried its five bytes and where segment boundaries fell
(tshark is used only for frames/TCP, never its SMTP dissector)."""
import argparse, json, os, subprocess, sys

TERM = b"\r\n.\r\n"


def tshark_segments(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-Y", "tcp.port == 25", "-T", "fields", "-E", "separator=\t",
           "-e", "frame.number", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src",
           "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
           "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.flags.syn", "-e", "tcp.flags.fin",
           "-e", "tcp.flags.reset", "-e", "tcp.payload"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) < 14:
            continue
        src = f[2] or f[3]; dst = f[5] or f[6]
        rows.append(dict(frame=int(f[0]), t=float(f[1]), src=src, sport=int(f[4]), dst=dst,
                         dport=int(f[7]), seq=int(f[8] or 0), len=int(f[9] or 0), syn=f[10] in ("1", "True"),
                         fin=f[11] in ("1", "True"), rst=f[12] in ("1", "True"),
                         payload=bytes.fromhex(f[13].replace(":", "")) if f[13] else b""))
    return rows


def flows_of(pcap):
    rows = tshark_segments(pcap)
    flows = {}
    for r in rows:
        client_side = r["dport"] == 25
        key = (r["src"], r["sport"], r["dst"], r["dport"]) if client_side else (r["dst"], r["dport"], r["src"], r["sport"])
        fl = flows.setdefault(key, {"client": {"ip": key[0], "port": key[1]}, "server": {"ip": key[2], "port": key[3]},
                                    "first_frame": r["frame"], "start": r["t"], "segs": [], "fin": [], "rst": [],
                                    "server_payload_frames": 0})
        fl["last_frame"] = r["frame"]; fl["end"] = r["t"]
        if r["fin"]:
            fl["fin"].append({"frame": r["frame"], "from": "client" if client_side else "server"})
        if r["rst"]:
            fl["rst"].append({"frame": r["frame"], "from": "client" if client_side else "server"})
        if client_side and r["len"] > 0 and r["payload"]:
            fl["segs"].append((r["seq"], r["frame"], r["payload"]))
        if not client_side and r["len"] > 0:
            fl["server_payload_frames"] += 1
    result = []
    for i, (key, fl) in enumerate(sorted(flows.items(), key=lambda kv: kv[1]["first_frame"])):
        stream = bytearray()
        owner = []           # frame that first carried each stream byte
        bounds = {}          # stream offset -> frames whose segment began/ended there
        for seq, frame, pl in sorted(fl["segs"], key=lambda x: (x[0], x[1])):
            off = seq - 1    # tshark relative seq: first data byte is 1
            if off < 0:
                continue
            bounds.setdefault(off, set()).add(frame)
            bounds.setdefault(off + len(pl), set()).add(frame)
            if off > len(stream):
                break        # bytes never seen in this capture: stop here
            if off + len(pl) > len(stream):
                new = pl[len(stream) - off:]
                owner.extend([frame] * len(new))
                stream.extend(new)
        terms = []
        pos = stream.find(TERM)
        while pos >= 0:
            splits = sorted(k - pos for k in bounds if pos < k < pos + 5)
            terms.append({"stream_offset": pos, "frames": sorted(set(owner[pos:pos + 5])),
                          "split_after": splits})
            pos = stream.find(TERM, pos + 1)
        result.append({"flow": i, "client": fl["client"], "server": fl["server"], "first_frame": fl["first_frame"],
                       "last_frame": fl["last_frame"], "start": fl["start"], "end": fl["end"],
                       "client_bytes": len(stream), "fin": fl["fin"], "rst": fl["rst"],
                       "terminators_in_client_stream": terms})
    return result


def frame_count(pcap):
    out = subprocess.run(["capinfos", "-c", "-M", "-T", pcap], capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].strip().isdigit():
            return int(parts[1])
    return None


def attempts(truth):
    """Per Message-ID: every connection that carried it, in order, with its
    start time, split positions as written and the reply to end-of-data."""
    out = {}
    for cl in truth.get("clients", []):
        for con in cl["connections"]:
            for m in con.get("messages", []):
                r = m.get("eod_reply")
                out.setdefault(m["message_id"], []).append({
                    "client": con.get("client"), "server": con.get("server"), "start": con.get("start"),
                    "split_after_as_written": m.get("split_after"), "mode": m.get("mode"),
                    "eod_reply_code": r["code"] if r else None, "connection_end": con.get("end")})
    inj = truth.get("injected")
    if inj and truth["captures"]:
        # relayed by the sending Postfix: one attempt per port-25 flow seen outside
        flows = truth["captures"][0]["flows_port25"]
        out[inj["message_id"]] = [{
            "client": f["client"], "server": f["server"], "start": f["start"],
            "split_after_on_wire": [t["split_after"] for t in f["terminators_in_client_stream"]],
            "eod_reply_code": None, "connection_end": "client closed after smtp_data_done_timeout"}
            for f in flows]
    for lst in out.values():
        starts = [x["start"] for x in lst if x.get("start")]
        for x, prev in zip(lst[1:], starts):
            if x.get("start"):
                x["seconds_since_previous_attempt"] = round(x["start"] - prev, 3)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--what", required=True, help="one-paragraph description of what the lab did")
    p.add_argument("--capture", action="append", default=[], help="FILE:SIDE (relative to --dir)")
    p.add_argument("--client", action="append", default=[], help="client.py JSON output")
    p.add_argument("--json", action="append", default=[], help="NAME=FILE extra JSON to embed")
    p.add_argument("--jsonl", action="append", default=[], help="NAME=FILE JSON-lines log to embed")
    p.add_argument("--lines", action="append", default=[], help="NAME=FILE text log to embed")
    p.add_argument("--since", type=float, default=0, help="only log records at or after this epoch")
    p.add_argument("--until", type=float, default=1e12)
    p.add_argument("--set", action="append", default=[], help="KEY=JSON value")
    a = p.parse_args()
    truth = {"scenario": a.scenario, "what": a.what, "written_by": "captures/lab/truth.py from the lab's own records",
             "captures": []}
    for c in a.capture:
        f, side = c.rsplit(":", 1)
        path = os.path.join(a.dir, f)
        truth["captures"].append({"file": f, "side": side, "bytes": os.path.getsize(path),
                                  "frames": frame_count(path), "flows_port25": flows_of(path)})
    truth["clients"] = []
    for c in a.client:
        with open(c) as fh:
            truth["clients"].append(json.load(fh))
    for spec in a.json:
        k, f = spec.split("=", 1)
        with open(f) as fh:
            truth[k] = json.load(fh)
    for spec in a.jsonl:
        k, f = spec.split("=", 1)
        recs = []
        if os.path.exists(f):
            for line in open(f):
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if a.since <= r.get("t", 0) <= a.until:
                    recs.append(r)
        truth[k] = recs
    for spec in a.lines:
        k, f = spec.split("=", 1)
        truth[k] = [l.rstrip("\n") for l in open(f)] if os.path.exists(f) else []
    for spec in a.set:
        k, v = spec.split("=", 1)
        truth[k] = json.loads(v)
    truth["message_attempts"] = attempts(truth)
    with open(os.path.join(a.dir, "truth.json"), "w") as fh:
        json.dump(truth, fh, indent=1, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
