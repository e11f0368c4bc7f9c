#!/usr/bin/env python3
"""Sanity checks on the lab's own truth files: did each scenario do what it
was meant to do? (Guards the lab against races; says nothing about
smtpscope.) Exit 1 on any failure."""
import json, os, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fails = []


def load(name):
    p = os.path.join(ROOT, name, "truth.json")
    return json.load(open(p)) if os.path.exists(p) else None


def check(name, cond, what):
    if not cond:
        fails.append(f"{name}: {what}")


def msgs(t):
    return [m for cl in t["clients"] for con in cl["connections"] for m in con["messages"]]


def codes(t):
    return [(m.get("eod_reply") or {}).get("code") for m in msgs(t)]


def flows(t, i=0):
    return t["captures"][i]["flows_port25"]


def terms(t, i=0):
    return [x["split_after"] for f in flows(t, i) for x in f["terminators_in_client_stream"]]


def events(t, ev):
    return [r for r in t.get("middlebox_log", []) if r.get("event") == ev]


for name in ["clean-delivery", "pipelining", "bdat", "ipv6", "starttls"]:
    t = load(name)
    if t:
        check(name, codes(t) and all(c == 250 for c in codes(t)), f"end-of-data replies {codes(t)}")
t = load("kb-postfix-retries")
if t:
    check("kb", len(flows(t, 0)) >= 3 and all(x == [2] for x in terms(t, 0)), f"outside terminators {terms(t, 0)}")
    check("kb", terms(t, 1) == [], "inside must carry no terminator")
    check("kb", len(events(t, "swallowed_split_terminator")) == len(flows(t, 0)), "one swallow per attempt")
    check("kb", sum("while sending end of data" in l for l in t["sender_postfix_log"]) >= 3, "3 Postfix timeouts")
t = load("mailguard-splits")
if t:
    check("mailguard-splits", terms(t, 0) == [[1], [2], [3], [4]], f"outside {terms(t, 0)}")
    check("mailguard-splits", terms(t, 1) == [], "inside must carry no terminator")
    check("mailguard-splits", codes(t) == [None] * 4, f"replies {codes(t)}")
    check("mailguard-splits", [r["split_after"] for r in events(t, "swallowed_split_terminator")] == [[1], [2], [3], [4]],
          "middlebox swallowed 1..4")
t = load("mailguard-unsplit")
if t:
    check("mailguard-unsplit", codes(t) == [250], f"replies {codes(t)}")
    check("mailguard-unsplit", len(events(t, "ehlo_rejected")) == 1 and len(events(t, "command_masked")) == 1, "500/X")
t = load("split-transparent")
if t:
    check("split-transparent", terms(t) == [[1], [2], [3], [4], [1, 2, 3, 4]], f"{terms(t)}")
    check("split-transparent", codes(t) == [250] * 5, f"{codes(t)}")
t = load("impaired-split")
if t:
    check("impaired-split", codes(t) == [250, 250], f"{codes(t)}")
    check("impaired-split", terms(t, 0) == [[2], [1, 3]], f"{terms(t, 0)}")
    check("impaired-split", len(t["middlebox_log"]) > 3, "impairments logged")
t = load("unanswered")
if t:
    check("unanswered", codes(t) == [None, None] and terms(t) == [[], []], f"{codes(t)} {terms(t)}")
t = load("open-at-end")
if t:
    f = flows(t)
    check("open-at-end", len(f) == 1 and not f[0]["fin"] and not f[0]["rst"] and codes(t) == [250], "open flow")
t = load("mixed")
if t:
    check("mixed", len(flows(t)) == 5 and codes(t) == [250, 250, 250, 250, None, 250], f"{codes(t)}")
for name in ["near-miss-default", "near-miss-normalize", "near-miss-reject"]:
    t = load(name)
    if t:
        check(name, len(msgs(t)) == 9 and all("near_miss" in m for m in msgs(t)), "nine near-miss messages")

for f in fails:
    print("check_truth FAIL", f)
print("check_truth:", "FAIL" if fails else "OK")
sys.exit(1 if fails else 0)
