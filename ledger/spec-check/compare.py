#!/usr/bin/env python3
"""Compare verify.py (written from SPEC.md alone) with the reference scf-verify
on tampered variants of generated exports.

    python3 compare.py [--bin DIR] [--keep]

Compares (exit code, failure.seq, failure.line); failure codes may differ and
are only shown for information. Last line of output: "N passed, M failed".
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify  # noqa: E402


def run_ref(binary, args):
    p = subprocess.run([binary, "--json"] + args, capture_output=True)
    rep = None
    try:
        rep = json.loads(p.stdout.decode("utf-8", "replace").strip() or "null")
    except ValueError:
        rep = None
    return p.returncode, rep, p.stderr.decode("utf-8", "replace")


def outcome(code, rep):
    f = (rep or {}).get("failure") if isinstance(rep, dict) else None
    if code == 1 and f:
        return (code, f.get("seq"), f.get("line")), f.get("code")
    return (code, None, None), (rep or {}).get("unusable") if isinstance(rep, dict) else None


class Harness:
    def __init__(self, bindir, work):
        self.ref = os.path.join(bindir, "scf-verify")
        self.work = work
        self.passed = 0
        self.failed = []
        self.counter = 0
        self.groups = {}

    def case(self, group, name, data, trust=None, state=None, expect=None):
        """state: bytes of the saved checkpoint file, or None for no --state."""
        self.counter += 1
        path = os.path.join(self.work, "v%05d.jsonl" % self.counter)
        with open(path, "wb") as f:
            f.write(data)
        ref_args, my_args = [], []
        if trust:
            ref_args += ["--trust-root", trust]
            my_args += ["--trust-root", trust]
        ref_state = my_state = None
        if state is not None:
            ref_state = path + ".ref-state"
            my_state = path + ".my-state"
            for p in (ref_state, my_state):
                with open(p, "wb") as f:
                    f.write(state)
            ref_args += ["--state", ref_state]
            my_args += ["--state", my_state]
        rc, rrep, rerr = run_ref(self.ref, ref_args + [path])
        mc, mrep = verify.run(my_args + [path])
        r_out, r_code = outcome(rc, rrep)
        m_out, m_code = outcome(mc, mrep)
        ok = r_out == m_out
        note = ""
        if ok and expect is not None and r_out[0] != expect:
            ok = False
            note = " (both disagree with the expected exit %d)" % expect
        if ok and state is not None and rc == 0:
            with open(ref_state, "rb") as f:
                rs = f.read()
            with open(my_state, "rb") as f:
                ms = f.read()
            if rs != ms:
                ok = False
                note = " (state files differ: ref %r vs mine %r)" % (rs[:80], ms[:80])
        g = self.groups.setdefault(group, [0, 0])
        if ok:
            self.passed += 1
            g[0] += 1
        else:
            g[1] += 1
            self.failed.append("[%s] %s: reference %s code=%s | verify.py %s code=%s%s" % (
                group, name, fmt(r_out), r_code, fmt(m_out), m_code, note))
        os.unlink(path)
        for p in (ref_state, my_state):
            if p and os.path.exists(p):
                os.unlink(p)
        return r_out, m_out


def fmt(o):
    if o[0] == 1:
        return "exit 1 seq %s line %s" % (o[1], o[2])
    return "exit %d" % o[0]


def line_spans(data):
    """[(start, end_excluding_newline)] for each line."""
    spans, start = [], 0
    while start < len(data):
        nl = data.find(b"\n", start)
        if nl < 0:
            spans.append((start, len(data)))
            break
        spans.append((start, nl))
        start = nl + 1
    return spans


def flip_positions(data, n_target=400, seed=1):
    spans = line_spans(data)
    pos = set()
    for i, (s, e) in enumerate(spans):
        line = data[s:e]
        pos.add(s)                       # first byte of every line
        if e < len(data):
            pos.add(e)                   # the newline ending the line
        if i == 0:
            pos.update(range(s, e))      # every header byte
            continue
        # a byte inside the intent string (middle of it)
        k = line.find(b'"intent":"')
        if k >= 0:
            j = line.find(b'","seq":', k)
            if j > k:
                pos.add(s + (k + 10 + j) // 2)
        # a byte inside every signature hex (cosig, each sigs[].sig, checkpoint sig)
        for tag in (b'"cosig":"', b'"sig":"'):
            k = line.find(tag)
            while k >= 0:
                pos.add(s + k + len(tag) + 37)
                k = line.find(tag, k + 1)
        for tag in (b'"seq":', b'"size":', b'"prev_size":', b'"time":"', b'"key_id":"', b'"root":"', b'"chain":"'):
            k = line.find(tag)
            if k >= 0:
                pos.add(s + k + len(tag) + 1 if tag.endswith(b'"') else s + k + len(tag))
    rng = random.Random(seed)
    # then spread the rest deterministically over the whole file
    remaining = max(0, n_target - len(pos))
    if remaining:
        stride = len(data) / remaining
        for i in range(remaining):
            pos.add(min(len(data) - 1, int(i * stride + rng.random() * stride)))
    return sorted(pos)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="/tmp/spec-check-bin")
    ap.add_argument("--flips", type=int, default=400)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="spec-check-compare-")
    h = Harness(args.bin, work)
    small = open(os.path.join(args.bin, "small.jsonl"), "rb").read()
    small_root = os.path.join(args.bin, "root.json")

    big_path = os.path.join(work, "e60.jsonl")
    big_root = os.path.join(work, "e60-root.json")
    subprocess.run([os.path.join(args.bin, "gen-export"), "--events", "60", "--seed", "3",
                    "--checkpoint-every", "9", "--out", big_path, "--trust-root-out", big_root],
                   check=True, capture_output=True)
    big = open(big_path, "rb").read()

    # (a) untampered
    h.case("a-untampered", "small.jsonl + trust root", small, small_root, expect=0)
    h.case("a-untampered", "small.jsonl, no trust root", small, expect=0)
    h.case("a-untampered", "e60 seed3 k9 + trust root", big, big_root, expect=0)
    h.case("a-untampered", "e60 seed3 k9, no trust root", big, expect=0)
    h.case("a-untampered", "e60 seed3 k9 vs small's trust root", big, small_root)

    # (b) single-byte flips
    for p in flip_positions(small, args.flips):
        d = bytearray(small)
        d[p] ^= 0x01
        h.case("b-flip", "small.jsonl byte %d (line %d)" % (p, small.count(b"\n", 0, p) + 1),
               bytes(d), small_root)
    for p in flip_positions(big, 60, seed=2)[::3]:
        d = bytearray(big)
        d[p] ^= 0x01
        h.case("b-flip", "e60 byte %d (line %d)" % (p, big.count(b"\n", 0, p) + 1), bytes(d), big_root)

    # (c) drops, duplicates, adjacent swaps
    for label, data, root in (("small", small, small_root), ("e60", big, big_root)):
        lines = data.split(b"\n")[:-1]
        for i in range(len(lines)):
            h.case("c-drop", "%s drop line %d" % (label, i + 1),
                   b"".join(l + b"\n" for j, l in enumerate(lines) if j != i), root)
        for i in range(len(lines)):
            ls = lines[:i + 1] + [lines[i]] + lines[i + 1:]
            h.case("c-dup", "%s duplicate line %d" % (label, i + 1), b"".join(l + b"\n" for l in ls), root)
        for i in range(len(lines) - 1):
            ls = list(lines)
            ls[i], ls[i + 1] = ls[i + 1], ls[i]
            h.case("c-swap", "%s swap lines %d,%d" % (label, i + 1, i + 2),
                   b"".join(l + b"\n" for l in ls), root)

    # (d) saved checkpoints: truncation, rollback, consistency, foreign state
    for label, data, root in (("small", small, small_root), ("e60", big, big_root)):
        lines = data.split(b"\n")[:-1]
        cps = [i for i, l in enumerate(lines) if l.startswith(b'{"chain":')]
        last = lines[cps[-1]] + b"\n"
        for c in cps[:-1]:
            cut = b"".join(l + b"\n" for l in lines[:c + 1])
            h.case("d-state", "%s cut after line %d, state = last checkpoint" % (label, c + 1),
                   cut, root, state=last, expect=1)
            h.case("d-state", "%s full export, state = checkpoint of line %d" % (label, c + 1),
                   data, root, state=lines[c] + b"\n", expect=0)
        h.case("d-state", "%s full export, state = last checkpoint" % label, data, root, state=last, expect=0)
        h.case("d-state", "%s full export, state file absent (written)" % label, data, root, state=None, expect=0)
        mid = b"".join(l + b"\n" for l in lines[:cps[1] - 2])
        h.case("d-state", "%s cut mid-way (no final checkpoint), state = last" % label, mid, root, state=last)
        # a state checkpoint whose root was altered (re-signing impossible -> unusable or fork)
        c0 = lines[cps[0]]
        k = c0.find(b'"root":"') + 8
        bad = bytearray(c0)
        bad[k] = ord("0") if bad[k] != ord("0") else ord("1")
        h.case("d-state", "%s state checkpoint with altered root" % label, data, root, state=bytes(bad) + b"\n")
    h.case("d-state", "small export, state = e60's last checkpoint (foreign origin?)", small, small_root,
           state=big.split(b"\n")[-2] + b"\n")
    h.case("d-state", "e60 export, state = small's last checkpoint", big, big_root,
           state=small.split(b"\n")[-2] + b"\n")
    h.case("d-state", "small export, state file garbage", small, small_root, state=b"not json\n", expect=2)

    # state-file round trip through the CLI of verify.py (subprocess)
    st = os.path.join(work, "rt-state")
    exp = os.path.join(work, "rt.jsonl")
    open(exp, "wb").write(small)
    p = subprocess.run([sys.executable, os.path.join(HERE, "verify.py"), "--json", "--state", st, exp],
                       capture_output=True)
    rt_ok = p.returncode == 0 and json.loads(p.stdout)["valid"] is True and \
        open(st, "rb").read() == small.split(b"\n")[-2] + b"\n"
    if rt_ok:
        h.passed += 1
    else:
        h.failed.append("[cli] verify.py subprocess with --state: rc=%d out=%r" % (p.returncode, p.stdout[:200]))

    # (e) garbage
    rng = random.Random(42)
    garbage = [("empty file", b""), ("{}", b"{}"), ("{}\\n", b"{}\n"), ("single newline", b"\n"),
               ("random 1000 bytes", bytes(rng.randrange(256) for _ in range(1000))),
               ("random 64 bytes", bytes(rng.randrange(256) for _ in range(64))),
               ("random printable", bytes(rng.randrange(32, 127) for _ in range(500)) + b"\n"),
               ("20 lines of {}", b"{}\n" * 20)]
    for name, d in garbage:
        h.case("e-garbage", name, d, small_root, expect=2)

    dt = time.time() - t0
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    for g, (p_, f_) in sorted(h.groups.items()):
        print("%-14s %4d passed, %3d failed" % (g, p_, f_))
    if h.failed:
        print("\nDisagreements:")
        for f in h.failed:
            print("  " + f)
    print("\nelapsed %.1fs" % dt)
    print("%d passed, %d failed" % (h.passed, len(h.failed)))
    return 0 if not h.failed else 1


if __name__ == "__main__":
    sys.exit(main())
