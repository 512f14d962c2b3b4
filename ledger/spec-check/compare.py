#!/usr/bin/env python3
"""Compare verify.py (written from SPEC.md alone) with the reference scf-verify.

    python3 compare.py [--verifier PATH] [--gen PATH] [--workdir DIR]
                       [--flips N] [--keep] [--verbose]

Defaults: --verifier /tmp/spec-check-bin/scf-verify, --gen
/tmp/spec-check-bin/gen-export, --workdir a fresh temporary directory (removed
at the end unless --keep; a given --workdir gets a fresh subdirectory that is
kept).  Python 3.11 standard library only.

Every case runs both verifiers on the same input and compares (exit code,
failure.seq, failure.line); failure codes may differ and are listed for
information only.  A case with an "expect" value (our reading of SPEC.md) also
fails when both tools agree with each other but not with that exit code.

  (a) untampered exports made with --gen: --events 30 --seed 7
      --checkpoint-every 6, --events 60 --seed 3 --checkpoint-every 9,
      --events 120 --seed 11
  (b) single-byte XOR 0x01 flips (a deterministic sample: every header byte,
      every line start and newline, a byte in every signature, seq, size,
      time, key id, root and chain, plus an even spread; --flips)
  (c) every dropped line, duplicated line, adjacent swap
  (d) truncation/rollback against a saved later checkpoint (--state)
  (e) garbage inputs -> exit 2
  (f) crafted ledgers signed with our own keys (pure-Python RFC 8032 signing)
      that probe single rules with every other signature valid: cofactored
      Ed25519, key acceptability, canonical JSON and nesting depth,
      timestamps (six fractional digits for platform times), event types,
      body members, assets on ledger./key. intents, key lifecycle,
      invariants, checkpoints
  (g) export structure, the 1 MiB line limit and the "first 16 lines" rule
  (h) trust-root files, (i) saved-checkpoint files and their ordering rules

Exit status 0 if every case passed, 1 otherwise (2 if the binaries cannot be
run).  The last line of output is "N passed, M failed".
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


def start_ref(binary, args):
    return subprocess.Popen([binary, "--json"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_ref(proc):
    out, err = proc.communicate()
    try:
        rep = json.loads(out.decode("utf-8", "replace").strip() or "null")
    except ValueError:
        rep = None
    return proc.returncode, rep, err.decode("utf-8", "replace")


def outcome(code, rep):
    f = (rep or {}).get("failure") if isinstance(rep, dict) else None
    if code == 1 and f:
        return (code, f.get("seq"), f.get("line")), f.get("code")
    return (code, None, None), (rep or {}).get("unusable") if isinstance(rep, dict) else None


class Harness:
    def __init__(self, verifier, work):
        self.ref = verifier
        self.work = work
        self.passed = 0
        self.failed = []
        self.counter = 0
        self.groups = {}
        self.verbose = False
        self.code_diffs = []

    def case(self, group, name, data, trust=None, state=None, expect=None, ref_extra=()):
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
            if state is not ABSENT:
                for p in (ref_state, my_state):
                    with open(p, "wb") as f:
                        f.write(state)
            ref_args += ["--state", ref_state]
            my_args += ["--state", my_state]
        # the reference runs in its own process while verify.py runs here
        proc = start_ref(self.ref, list(ref_extra) + ref_args + [path])
        mc, mrep = verify.run(my_args + [path])
        rc, rrep, rerr = finish_ref(proc)
        r_out, r_code = outcome(rc, rrep)
        m_out, m_code = outcome(mc, mrep)
        ok = r_out == m_out
        note = ""
        if ok and expect is not None and r_out[0] != expect:
            ok = False
            note = " (both disagree with the expected exit %d)" % expect
        elif not ok and expect is not None:
            note = " [SPEC reading expects exit %d]" % expect
        if self.verbose:
            print("  %-5s %-13s %-70s ref %-24s mine %-24s %s/%s" % (
                "ok" if ok else "DIFF", group, name[:70], fmt(r_out), fmt(m_out), r_code, m_code))
        if ok and state is not None and rc == 0:
            with open(ref_state, "rb") as f:
                rs = f.read()
            with open(my_state, "rb") as f:
                ms = f.read()
            if rs != ms:
                ok = False
                note = " (state files differ: ref %r vs mine %r)" % (rs[:80], ms[:80])
        if ok and r_out[0] == 1 and r_code != m_code:
            self.code_diffs.append("[%s] %s: reference %s, verify.py %s" % (group, name, r_code, m_code))
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


ABSENT = object()


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


# ---------------------------------------------------------------------------
# (f) crafted ledgers: our own keys, so that single rules can be probed with
# every signature valid (pure-Python RFC 8032 signing)
# ---------------------------------------------------------------------------

import datetime  # noqa: E402
import hashlib  # noqa: E402

V = verify


def _encode_point(pt):
    x, y, z, _ = pt
    zi = pow(z, V.P - 2, V.P)
    x, y = x * zi % V.P, y * zi % V.P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _find_t8():
    y = 2
    while True:
        pt = V.decode_point(y.to_bytes(32, "little"))
        if pt is not None:
            q = V._mul(V.L, pt)
            if not V._is_identity(V._double(V._double(q))):
                return q
        y += 1


T8 = _find_t8()


class Signer:
    def __init__(self, name, torsion_key=False):
        seed = hashlib.sha256(name.encode()).digest()
        h = hashlib.sha512(seed).digest()
        a = int.from_bytes(h[:32], "little")
        a &= (1 << 254) - 8
        a |= 1 << 254
        self.a, self.prefix = a, h[32:]
        pt = V._base_mul(a)
        if torsion_key:
            pt = V._add(pt, T8)
        self.pub = _encode_point(pt)
        self.kid = V.key_id(self.pub)
        self.hex = self.pub.hex()

    def sign(self, msg, torsion=False, s_plus_l=False):
        r = int.from_bytes(hashlib.sha512(self.prefix + msg).digest(), "little") % V.L
        rp = V._base_mul(r)
        if torsion:
            rp = V._add(rp, T8)
        rb = _encode_point(rp)
        k = int.from_bytes(hashlib.sha512(rb + self.pub + msg).digest(), "little") % V.L
        s = (r + k * self.a) % V.L
        if s_plus_l:
            s += V.L
        return rb + s.to_bytes(32, "little")


T0 = datetime.datetime(2026, 2, 1)


def ts_us(us):
    return (T0 + datetime.timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Builder:
    def __init__(self, origin="crafted.example/ledger"):
        self.origin = origin
        self.plat = Signer("platform-0")
        self.genesis_key = self.plat
        self.lines = [verify.HEADER]
        self.n = 0
        self.us = 0
        self.ids = 0
        self.chain = b"\0" * 32
        self.tree = V.Merkle()
        self.last_cp = 0

    def now(self):
        self.us += 1000
        return ts_us(self.us)

    def entry(self, typ, org, body, signers, assets=(), subject="s", intent_id=None, key_id=None,
              time=None, client_time=None, intent_bytes=None, intent_patch=None, cosigner=None,
              sig_opts=None, cosig_opts=None, line_patch=None):
        t = time or self.now()
        self.ids += 1
        intent = {"assets": list(assets), "body": body, "client_time": client_time or t,
                  "id": intent_id or "i-%05d" % self.ids, "key_id": key_id or signers[0].kid,
                  "org": org, "schema": 1, "subject": subject, "type": typ}
        if intent_patch:
            intent_patch(intent)
        ib = intent_bytes(intent) if intent_bytes else V.jcs(intent)
        msg = b"scf-ledger/v1/intent\n" + ib
        sig_opts = sig_opts or {}
        sigs = [{"key_id": s.kid, "sig": s.sign(msg, **sig_opts.get(i, {})).hex()} for i, s in enumerate(signers)]
        e = {"intent": ib.decode("utf-8"), "seq": self.n, "sigs": sigs, "time": t}
        unsigned = V.jcs(e)
        cs = cosigner or self.plat
        e["cosig"] = cs.sign(b"scf-ledger/v1/cosig\n" + self.origin.encode() + b"\n" + unsigned,
                             **(cosig_opts or {})).hex()
        line = V.jcs(e)
        if line_patch:
            line = line_patch(line)
        self.lines.append(line)
        leaf = V.leaf_hash(line)
        self.chain = V.chain_hash(self.chain, leaf)
        self.tree.append(leaf)
        self.n += 1
        return len(self.lines)

    def make_checkpoint(self, signer=None, time=None, patch=None, sig_opts=None):
        s = signer or self.plat
        cp = {"chain": self.chain.hex(), "key_id": s.kid, "origin": self.origin, "prev_size": self.last_cp,
              "root": self.tree.root().hex(), "size": self.n, "time": time or self.now()}
        if patch:
            patch(cp)
        cp["sig"] = s.sign(b"scf-ledger/v1/checkpoint\n" + V.jcs(cp), **(sig_opts or {})).hex()
        return V.jcs(cp)

    def checkpoint(self, **kw):
        line = self.make_checkpoint(**kw)
        self.lines.append(line)
        self.last_cp = json.loads(line)["size"]
        return len(self.lines)

    def genesis(self, body_extra=None, **kw):
        body = {"origin": self.origin, "platform_key": self.plat.hex}
        body.update(body_extra or {})
        return self.entry("ledger.genesis", "platform-operator", body, [self.plat], intent_id="genesis",
                          subject=self.origin, **kw)

    def rotate(self, new, signers=None, body_extra=None, **kw):
        body = {"new_key": new.hex}
        body.update(body_extra or {})
        ln = self.entry("ledger.rotate_platform_key", "platform-operator", body,
                        signers or [self.plat, new], **kw)
        self.plat = new
        return ln

    def add(self, k, org, by=(), **kw):
        signers = list(by) if by else [k]
        return self.entry("key.add", org, {"public_key": k.hex, "role": "maker"}, signers, **kw)

    def data(self):
        return b"".join(l + b"\n" for l in self.lines)

    def trust_root(self):
        return json.dumps({"origin": self.origin, "platform_key": self.genesis_key.hex}).encode()


A1, A2, A3, B1, B2 = (Signer(n) for n in ("a1", "a2", "a3", "b1", "b2"))
P1 = Signer("platform-1")


def prelude():
    b = Builder()
    b.genesis()
    b.add(A1, "org-a")
    b.add(A2, "org-a")
    b.add(B1, "org-b")
    return b


def biz(b, signers, org="org-a", typ="trade.invoice.register", body=None, **kw):
    return b.entry(typ, org, body if body is not None else {"amount": "1.00"}, signers, **kw)


def nest(j):
    v = []
    for _ in range(j - 1):
        v = [v]
    return v


def crafted_scenarios():
    """Yields (name, builder-or-bytes, expected exit per our SPEC reading, options)."""
    out = []

    def sc(name, expect, **opt):
        def deco(fn):
            out.append((name, fn, expect, opt))
            return fn
        return deco

    # --- baseline and Ed25519 ---
    @sc("baseline (genesis, adds, business, rotation, revoke, checkpoints)", 0)
    def _(b):
        biz(b, [A1])
        b.checkpoint()
        b.rotate(P1)
        b.checkpoint()
        biz(b, [A1, B1])
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A2])

    for strict in (False, True):
        extra = ("--strict",) if strict else ()
        tag = " [ref --strict]" if strict else ""

        @sc("torsion component in R of an actor signature (cofactored: valid)" + tag, 0, ref_extra=extra)
        def _(b):
            biz(b, [A1], sig_opts={0: {"torsion": True}})

        @sc("torsion component in R of a co-signer signature" + tag, 0, ref_extra=extra)
        def _(b):
            biz(b, [A1, B1], sig_opts={1: {"torsion": True}})

        @sc("torsion component in R of a cosig" + tag, 0, ref_extra=extra)
        def _(b):
            biz(b, [A1], cosig_opts={"torsion": True})

        @sc("torsion component in R of a checkpoint signature" + tag, 0, ref_extra=extra)
        def _(b):
            biz(b, [A1])
            b.checkpoint(sig_opts={"torsion": True})

        @sc("torsion R in 5 signatures of one batch" + tag, 0, ref_extra=extra)
        def _(b):
            for _i in range(5):
                biz(b, [A1], sig_opts={0: {"torsion": True}}, cosig_opts={"torsion": True})

        @sc("S + L (non-canonical S) in an actor signature" + tag, 1, ref_extra=extra)
        def _(b):
            biz(b, [A1], sig_opts={0: {"s_plus_l": True}})

    @sc("genesis signature with torsion R", 0)
    def _(b):
        pass  # handled specially below
    out.pop()

    @sc("key.add of a key with a torsion component (not in prime-order subgroup)", 1)
    def _(b):
        b.add(Signer("tk", torsion_key=True), "org-a")

    @sc("key.add of a small-order key", 1)
    def _(b):
        class S8:
            pub = _encode_point(T8)
            kid = V.key_id(pub)
            hex = pub.hex()

            def sign(self, msg, **kw):
                return b"\x01" + b"\0" * 63
        b.add(S8(), "org-a")

    # --- intent fields ---
    @sc("subject of 256 x U+00E9 (512 bytes)", 0)
    def _(b):
        biz(b, [A1], subject="\u00e9" * 256)

    @sc("subject of 129 x U+1F600 (129 code points, 258 UTF-16 units)", 0)
    def _(b):
        biz(b, [A1], subject="\U0001F600" * 129)

    @sc("subject of 256 x U+1F600 (256 code points, 512 UTF-16 units)", 0)
    def _(b):
        biz(b, [A1], subject="\U0001F600" * 256)

    @sc("subject of 257 ASCII characters", 1)
    def _(b):
        biz(b, [A1], subject="x" * 257)

    @sc("intent of exactly 65536 bytes", 0)
    def _(b):
        def pad(i):
            base = len(V.jcs(dict(i, body={"p": ""})))
            i["body"] = {"p": "x" * (65536 - base)}
        biz(b, [A1], intent_patch=pad)

    @sc("intent of 65537 bytes", 1)
    def _(b):
        def pad(i):
            base = len(V.jcs(dict(i, body={"p": ""})))
            i["body"] = {"p": "x" * (65537 - base)}
        biz(b, [A1], intent_patch=pad)

    @sc("schema 2", 1)
    def _(b):
        biz(b, [A1], intent_patch=lambda i: i.update(schema=2))

    @sc("intent id of 64 characters, org with . _ : -", 0)
    def _(b):
        b.add(A3, "o.r_g:x-1")
        biz(b, [A3], org="o.r_g:x-1", intent_id="A" * 64)

    @sc("intent id of 65 characters", 1)
    def _(b):
        biz(b, [A1], intent_id="A" * 65)

    @sc("intent id with '/'", 1)
    def _(b):
        biz(b, [A1], intent_id="a/b")

    # --- canonical JSON inside the intent ---
    @sc("body numbers 1e+21, 0.1, 1.5e-7, -0.5, 1.2345678901234568e+20, 100", 0)
    def _(b):
        biz(b, [A1], body={"a": 1e21, "b": 0.1, "c": 1.5e-7, "d": -0.5, "e": 1.2345678901234568e+20, "f": 100})

    @sc("body number 9007199254740993 (not an IEEE double)", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"n": 0})).replace(b'"n":0', b'"n":9007199254740993'))

    @sc("body number 1000000000000000000000 (ES form is 1e+21)", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"n": 0})).replace(b'"n":0', b'"n":1000000000000000000000'))

    @sc("body number 1e400 (overflow)", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"n": 0})).replace(b'"n":0', b'"n":1e400'))

    @sc("body number 1.0", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"n": 0})).replace(b'"n":0', b'"n":1.0'))

    @sc("body number -0", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"n": 0})).replace(b'"n":0', b'"n":-0'))

    @sc("body keys U+1F600 before U+E000 (UTF-16 order)", 0)
    def _(b):
        biz(b, [A1], body={"\ue000": 1, "\U0001F600": 2})

    @sc("body keys U+E000 before U+1F600 (code-point order)", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"k": 0})).replace(
            b'{"k":0}', '{"\ue000":1,"\U0001F600":2}'.encode()))

    @sc("body strings: raw U+007F, U+2028, '/', escaped \\u001f", 0)
    def _(b):
        biz(b, [A1], body={"s": "\x7f\u2028/\x1f"})

    @sc("body string with escaped \\/", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"s": "/"})).replace(b'"/"', b'"\\/"'))

    @sc("body string with \\u00e9 escaped", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"s": "\u00e9"})).replace(
            "\u00e9".encode(), b"\\u00e9"))

    @sc("body string with uppercase \\u001F", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"s": "\x1f"})).replace(b"\\u001f", b"\\u001F"))

    @sc("body string with a lone surrogate \\ud800", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"s": "X"})).replace(b'"X"', b'"\\ud800"'))

    @sc("body with duplicate member names", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"k": 0})).replace(b'{"k":0}', b'{"k":0,"k":0}'))

    @sc("intent nesting depth 127", 0)
    def _(b):
        biz(b, [A1], body={"x": nest(125)})

    @sc("intent nesting depth 128 (128 or more levels is invalid)", 1)
    def _(b):
        biz(b, [A1], body={"x": nest(126)})

    @sc("intent nesting depth 129", 1)
    def _(b):
        biz(b, [A1], body={"x": nest(127)})

    @sc("intent nesting depth 128 made of objects", 1)
    def _(b):
        v = {}
        for _i in range(125):
            v = {"o": v}
        biz(b, [A1], body={"x": v})

    @sc("intent nesting depth 127 made of objects", 0)
    def _(b):
        v = {}
        for _i in range(124):
            v = {"o": v}
        biz(b, [A1], body={"x": v})

    @sc("intent nesting depth 1000", 1)
    def _(b):
        biz(b, [A1], intent_bytes=lambda i: V.jcs(dict(i, body={"x": 0})).replace(
            b'"x":0', b'"x":' + b"[" * 998 + b"]" * 998))

    # --- timestamps ---
    @sc("client_time with 0, 1 and 9 fractional digits", 0)
    def _(b):
        biz(b, [A1], client_time="2026-02-01T00:00:00Z")
        biz(b, [A1], client_time="2026-02-01T00:00:00.5Z")
        biz(b, [A1], client_time="2026-02-01T00:00:00.500000001Z")

    for t in ("2026-02-01T00:00:01Z", "2026-02-01T00:00:01.5Z", "2026-02-01T00:00:01.50000Z",
              "2026-02-01T00:00:01.5000000Z", "2026-02-01T00:00:01.123456789Z"):
        @sc("entry time %s (platform time not 6 fractional digits)" % t, 1)
        def _(b, t=t):
            biz(b, [A1], time=t)

    @sc("genesis time without fractional digits", 1)
    def _(b):
        pass  # handled specially in crafted()
    out.pop()

    @sc("entry time equal to the previous", 0)
    def _(b):
        t = b.now()
        biz(b, [A1], time=t)
        biz(b, [A1], time=t)

    @sc("entry time 1 us before the previous", 1)
    def _(b):
        biz(b, [A1], time="2026-02-01T00:00:00.500001Z")
        biz(b, [A1], time="2026-02-01T00:00:00.500000Z")

    @sc("client_time 2028-02-29", 0)
    def _(b):
        biz(b, [A1], client_time="2028-02-29T12:00:00Z")

    @sc("client_time 2100-02-29", 1)
    def _(b):
        biz(b, [A1], client_time="2100-02-29T12:00:00Z")

    @sc("client_time 24:00:00", 1)
    def _(b):
        biz(b, [A1], client_time="2026-01-01T24:00:00Z")

    @sc("client_time leap second :60", 1)
    def _(b):
        biz(b, [A1], client_time="2016-12-31T23:59:60Z")

    @sc("client_time lowercase z", 1)
    def _(b):
        biz(b, [A1], client_time="2026-01-01T00:00:00z")

    @sc("client_time with 10 fractional digits", 1)
    def _(b):
        biz(b, [A1], client_time="2026-01-01T00:00:00.0000000001Z")

    @sc("client_time year 0000 (proleptic Gregorian)", 0)
    def _(b):
        biz(b, [A1], client_time="0000-01-01T00:00:00Z")

    @sc("client_time +00:00 offset", 1)
    def _(b):
        biz(b, [A1], client_time="2026-01-01T00:00:00+00:00")

    # --- genesis and rotation ---
    @sc("genesis body with an extra member", 0, custom_genesis={"body_extra": {"note": "x"}})
    def _(b):
        pass

    @sc("genesis intent encumbers an asset", 1, custom_genesis={"assets": [{"key": "ab" * 32, "op": "encumber"}]})
    def _(b):
        pass

    @sc("genesis intent references an asset", 1, custom_genesis={"assets": [{"key": "ab" * 32, "op": "reference"}]})
    def _(b):
        pass

    @sc("rotation intent references an asset", 1)
    def _(b):
        b.rotate(P1, assets=[{"key": "ab" * 32, "op": "reference"}])

    @sc("key.add intent encumbers an asset", 1)
    def _(b):
        b.add(A3, "org-a", assets=[{"key": "ab" * 32, "op": "encumber"}])

    @sc("key.revoke intent references an asset", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1], assets=[{"key": "ab" * 32, "op": "reference"}])

    @sc("key.add intent with assets and a bad actor signature", 1)
    def _(b):
        b.add(A3, "org-a", assets=[{"key": "ab" * 32, "op": "reference"}], sig_opts={0: {"s_plus_l": True}})

    @sc("business event with assets of a 'keys.' type (not reserved)", 0)
    def _(b):
        biz(b, [A1], typ="keys.add", assets=[{"key": "ab" * 32, "op": "encumber"}])

    # --- named body members missing or of the wrong type (bad_intent) ---
    @sc("genesis body without origin", 1, custom_genesis={"body_drop": "origin"}, trust=False)
    def _(b):
        pass

    @sc("genesis body.origin is a number", 1, custom_genesis={"body_extra": {"origin": 7}}, trust=False)
    def _(b):
        pass

    @sc("genesis body without platform_key", 1, custom_genesis={"body_drop": "platform_key"}, trust=False)
    def _(b):
        pass

    @sc("rotation body without new_key", 1)
    def _(b):
        b.entry("ledger.rotate_platform_key", "platform-operator", {"reason": "x"}, [b.plat, P1])

    @sc("rotation body.new_key is an array", 1)
    def _(b):
        b.entry("ledger.rotate_platform_key", "platform-operator", {"new_key": [P1.hex]}, [b.plat, P1])

    @sc("key.add body without public_key", 1)
    def _(b):
        b.entry("key.add", "org-a", {"role": "maker"}, [A3])

    @sc("key.revoke body.key_id is a number", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": 12}, [A1])

    @sc("key.revoke without body.key_id and a bad cosig", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"reason": "x"}, [A1], cosig_opts={"s_plus_l": True})

    @sc("genesis origin of 128 characters", 0, origin="o" * 128, trust=False)
    def _(b):
        pass

    @sc("genesis origin of 129 characters (no trust root)", 1, origin="o" * 129, trust=False)
    def _(b):
        pass

    @sc("genesis origin with a space (no trust root)", 1, origin="a b", trust=False)
    def _(b):
        pass

    @sc("rotation body with an extra member", 0)
    def _(b):
        b.rotate(P1, body_extra={"reason": "scheduled"})

    @sc("checkpoint after rotation signed by the old key", 1)
    def _(b):
        old = b.plat
        b.rotate(P1)
        b.checkpoint(signer=old)

    @sc("entry after rotation countersigned by the old key", 1)
    def _(b):
        old = b.plat
        b.rotate(P1)
        biz(b, [A1], cosigner=old)

    @sc("rotation signed [new, current]", 1)
    def _(b):
        old = b.plat
        b.rotate(P1, signers=[P1, old], key_id=old.kid)

    @sc("rotation to a key known as an actor", 1)
    def _(b):
        b.rotate(A1)

    @sc("second rotation signed by the retired key", 1)
    def _(b):
        old = b.plat
        b.rotate(P1)
        b.plat = old
        b.rotate(Signer("platform-2"), cosigner=P1)

    @sc("rotation then checkpoint then another rotation", 0)
    def _(b):
        b.rotate(P1)
        b.checkpoint()
        b.rotate(Signer("platform-2"))

    # --- key.add ---
    @sc("key.add signed [K, actor of another org]", 0)
    def _(b):
        b.add(A3, "org-a", by=[A3, B1])

    @sc("key.add signed [actor of another org, K]", 1)
    def _(b):
        b.add(A3, "org-a", by=[B1, A3])

    @sc("key.add signed [actor of same org, K]", 0)
    def _(b):
        b.add(A3, "org-a", by=[A1, A3])

    @sc("key.add signed [actor of same org] only (no proof of possession)", 1)
    def _(b):
        b.add(A3, "org-a", by=[A1])

    @sc("key.add signed [platform key, K]", 1)
    def _(b):
        b.add(A3, "platform-operator", by=[b.plat, A3])

    @sc("key.add signed [K, platform key]", 1)
    def _(b):
        b.add(A3, "org-a", by=[A3, b.plat])

    @sc("key.add of an existing actor key", 1)
    def _(b):
        b.add(A1, "org-a")

    @sc("key.add of the platform key", 1)
    def _(b):
        b.add(b.plat, "org-a")

    @sc("key.add body with extra members", 0)
    def _(b):
        b.entry("key.add", "org-a", {"public_key": A3.hex, "role": "x", "extra": [1, 2]}, [A3])

    @sc("key.add signed [K, revoked actor]", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])
        b.add(A3, "org-a", by=[A3, A2])

    # --- key.revoke ---
    @sc("key.revoke signed by the revoked key itself", 0)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A2])

    @sc("revoked key signs afterwards", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])
        biz(b, [A2])

    @sc("revoked key as a co-signer afterwards", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])
        biz(b, [A1, A2])

    @sc("key.revoke of another org's key", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": B1.kid}, [A1])

    @sc("key.revoke of the platform key", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": b.plat.kid}, [A1])

    @sc("key.revoke of an already revoked key", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])

    @sc("key.revoke of an unknown key", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A3.kid}, [A1])

    @sc("key.revoke without body.key_id", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"reason": "x"}, [A1])

    @sc("re-adding a revoked key", 1)
    def _(b):
        b.entry("key.revoke", "org-a", {"key_id": A2.kid}, [A1])
        b.add(A2, "org-a")

    # --- business events and types ---
    @sc("business event co-signed by another org", 0)
    def _(b):
        biz(b, [A1, B1])

    @sc("business event, actor of another org", 1)
    def _(b):
        biz(b, [B1, A1], org="org-a")

    @sc("business event signed by the platform key", 1)
    def _(b):
        biz(b, [b.plat], org="platform-operator")

    @sc("business event co-signed by the platform key", 1)
    def _(b):
        biz(b, [A1, b.plat])

    @sc("business event by an unknown key", 1)
    def _(b):
        biz(b, [A3])

    @sc("16 signatures", 0)
    def _(b):
        ks = [Signer("m%d" % i) for i in range(15)]
        for k in ks:
            b.add(k, "org-m")
        biz(b, ks + [A1], org="org-m")

    for typ, exp in (("ledger.foo", 1), ("key.rotate", 1), ("keys.add", 0), ("a.b", 0), ("ledger", 1),
                     ("Trade.x", 1), ("a." + "b" * 62, 0), ("a." + "b" * 63, 1), ("a..b", 1),
                     ("a.b_", 0), ("a.1b", 1), ("ledger.genesis", 1), ("ledgers.genesis", 0)):
        @sc("event type %r" % typ, exp)
        def _(b, typ=typ):
            biz(b, [A1], typ=typ)

    # --- invariants, idempotency ---
    K1, K2 = "11" * 32, "22" * 32

    @sc("encumber twice", 1)
    def _(b):
        biz(b, [A1], assets=[{"key": K1, "op": "encumber"}])
        biz(b, [B1], org="org-b", assets=[{"key": K1, "op": "encumber"}])

    @sc("release of a key never encumbered", 1)
    def _(b):
        biz(b, [A1], assets=[{"key": K1, "op": "release"}])

    @sc("encumber, reference, release by another org, encumber again", 0)
    def _(b):
        biz(b, [A1], assets=[{"key": K1, "op": "encumber"}, {"key": K2, "op": "reference"}])
        biz(b, [A1], assets=[{"key": K1, "op": "reference"}])
        biz(b, [B1], org="org-b", assets=[{"key": K1, "op": "release"}])
        biz(b, [B1], org="org-b", assets=[{"key": K1, "op": "encumber"}])

    @sc("invariant fails on an entry that also fails nothing else but its effect must not apply", 1)
    def _(b):
        biz(b, [A1], assets=[{"key": K1, "op": "encumber"}, {"key": K2, "op": "release"}])

    @sc("64 assets", 0)
    def _(b):
        biz(b, [A1], assets=[{"key": "%064x" % i, "op": "reference"} for i in range(64)])

    @sc("65 assets", 1)
    def _(b):
        biz(b, [A1], assets=[{"key": "%064x" % i, "op": "reference"} for i in range(65)])

    @sc("asset keys descending", 1)
    def _(b):
        biz(b, [A1], assets=[{"key": K2, "op": "reference"}, {"key": K1, "op": "reference"}])

    @sc("duplicate (org, id)", 1)
    def _(b):
        biz(b, [A1], intent_id="dup")
        biz(b, [A2], intent_id="dup")

    @sc("same id in two orgs", 0)
    def _(b):
        biz(b, [A1], intent_id="dup")
        biz(b, [B1], org="org-b", intent_id="dup")

    @sc("reuse of the genesis id by the operator org in a rotation", 1)
    def _(b):
        b.rotate(P1, intent_id="genesis")

    # --- checkpoints ---
    @sc("checkpoint time equal to the last entry's", 0)
    def _(b):
        t = b.now()
        biz(b, [A1], time=t)
        b.checkpoint(time=t)

    @sc("checkpoint time 1 us before the last entry's", 1)
    def _(b):
        biz(b, [A1], time=ts_us(50000))
        b.checkpoint(time=ts_us(49999))

    @sc("entry earlier than the previous checkpoint, next checkpoint later", 0)
    def _(b):
        biz(b, [A1], time=ts_us(10000))
        b.checkpoint(time=ts_us(20000))
        biz(b, [A1], time=ts_us(15000))
        b.checkpoint(time=ts_us(25000))

    @sc("checkpoint earlier than the previous checkpoint (but after its entries)", 1)
    def _(b):
        biz(b, [A1], time=ts_us(10000))
        b.checkpoint(time=ts_us(20000))
        biz(b, [A1], time=ts_us(15000))
        b.checkpoint(time=ts_us(16000))

    @sc("validly signed checkpoint with wrong prev_size", 1)
    def _(b):
        biz(b, [A1])
        b.checkpoint()
        biz(b, [A1])
        b.checkpoint(patch=lambda c: c.update(prev_size=1))

    @sc("validly signed checkpoint with wrong root (fork evidence)", 1)
    def _(b):
        biz(b, [A1])
        b.checkpoint(patch=lambda c: c.update(root="00" * 32))

    @sc("validly signed checkpoint with another origin", 1)
    def _(b):
        biz(b, [A1])
        b.checkpoint(patch=lambda c: c.update(origin="other"))

    for t in ("2026-02-01T00:00:01Z", "2026-02-01T00:00:01.5Z", "2026-02-01T00:00:01.123456789Z"):
        @sc("checkpoint time %s (platform time not 6 fractional digits)" % t, 1)
        def _(b, t=t):
            biz(b, [A1])
            b.checkpoint(time=t)

    @sc("checkpoint time with 6 fractional digits, all zero", 0)
    def _(b):
        biz(b, [A1], time="2026-02-01T00:00:01.000000Z")
        b.checkpoint(time="2026-02-01T00:00:01.000000Z")

    @sc("checkpoint with an extra member", 1)
    def _(b):
        biz(b, [A1])
        b.checkpoint(patch=lambda c: c.update(extra=1))

    return out


def build(name, fn, opt):
    origin = opt.get("origin", "crafted.example/ledger")
    b = Builder(origin)
    g = opt.get("custom_genesis")
    if g:
        body = {"origin": origin, "platform_key": b.plat.hex}
        body.update(g.get("body_extra", {}))
        body.pop(g.get("body_drop"), None)
        b.entry("ledger.genesis", "platform-operator", body, [b.plat], intent_id="genesis",
                subject=origin, assets=g.get("assets", ()))
        b.add(A1, "org-a")
        b.add(A2, "org-a")
        b.add(B1, "org-b")
    else:
        b.genesis()
        b.add(A1, "org-a")
        b.add(A2, "org-a")
        b.add(B1, "org-b")
    fn(b)
    if not b.lines[-1].startswith(b'{"chain":'):
        b.checkpoint()
    return b


def crafted(h, work):
    trust_path = os.path.join(work, "crafted-root.json")
    for name, fn, expect, opt in crafted_scenarios():
        b = build(name, fn, opt)
        with open(trust_path, "wb") as f:
            f.write(b.trust_root())
        h.case("f-crafted", name, b.data(), trust_path if opt.get("trust", True) else None,
               expect=expect, ref_extra=opt.get("ref_extra", ()))

    # genesis signature with torsion R
    b = Builder()
    b.genesis(sig_opts={0: {"torsion": True}})
    b.add(A1, "org-a")
    b.checkpoint()
    with open(trust_path, "wb") as f:
        f.write(b.trust_root())
    h.case("f-crafted", "genesis signature with torsion R", b.data(), trust_path, expect=0)

    # genesis with a platform time lacking the six fractional digits
    b = Builder()
    b.genesis(time="2026-02-01T00:00:00Z")
    b.add(A1, "org-a")
    b.checkpoint()
    with open(trust_path, "wb") as f:
        f.write(b.trust_root())
    h.case("f-crafted", "genesis time without fractional digits", b.data(), trust_path, expect=1)

    # --- structure of the export and usability ---
    base = prelude()
    biz(base, [A1])
    base.checkpoint()
    data = base.data()
    with open(trust_path, "wb") as f:
        f.write(base.trust_root())
    lines = data.split(b"\n")[:-1]
    hdr = verify.HEADER + b"\n"
    def sized_entry(total):
        """A canonical, well-typed entry line (bad signatures) of exactly `total` bytes."""
        e = {"cosig": "ab" * 64, "intent": "", "seq": 0, "sigs": [{"key_id": "cd" * 16, "sig": "ef" * 64}],
             "time": "2026-02-01T00:00:00.000000Z"}
        e["intent"] = "x" * (total - len(V.jcs(e)))
        line = V.jcs(e)
        assert len(line) == total
        return line

    body = b"".join(l + b"\n" for l in lines[1:])
    S = [
        ("header only", hdr, 1),
        ("header only, no newline", verify.HEADER, 2),
        ("garbage line, then the header without a newline", b"garbage\n" + verify.HEADER, 2),
        ("header + genesis, no checkpoint", hdr + lines[1] + b"\n", 1),
        ("header + {}", hdr + b"{}\n", 1),
        ("header + empty line + rest", hdr + b"\n" + body, 1),
        ("empty line at the end", data + b"\n", 1),
        ("no final newline", data[:-1], 1),
        ("CRLF line endings", data.replace(b"\n", b"\r\n"), 2),
        ("UTF-8 BOM before the header", b"\xef\xbb\xbf" + data, 1),
        ("header with a space", data.replace(b'"format":"scf', b'"format": "scf', 1), 1),
        ("15 garbage lines then the export", b"garbage\n" * 15 + data, 1),
        ("16 garbage lines then the export", b"garbage\n" * 16 + data, 2),
        ("garbage line then a non-canonical but well-typed entry",
         b"garbage\n" + lines[1].replace(b'"seq":0', b'"seq": 0') + b"\n", 2),
        ("garbage line then an entry with an extra member",
         b"garbage\n" + lines[1].replace(b'"seq":0', b'"seq":0,"x":1') + b"\n", 2),
        ("garbage line then an entry with uppercase hex",
         b"garbage\n" + lines[1].replace(b'"cosig":"', b'"cosig":"A', 1), 2),
        ("garbage line then an entry whose time lacks six fractional digits",
         b"garbage\n" + lines[1].replace(b'.001000Z"', b'.001Z"', 1) + b"\n", 2),
        ("garbage line then a well-typed entry with bad signatures (well-formed whatever its signatures)",
         b"garbage\n" + sized_entry(1000) + b"\n", 1),
        ("garbage line then the genesis without its newline", b"garbage\n" + lines[1], 2),
        ("garbage line then a checkpoint", b"garbage\n" + lines[-1] + b"\n", 1),
        ("garbage line then a checkpoint of size 0", b"garbage\n" + lines[-1].replace(
            b'"size":%d' % json.loads(lines[-1])["size"], b'"size":0') + b"\n", 2),
        ("garbage line then a checkpoint whose origin is not a valid origin (SPEC-GAP: read as §2.5)",
         b"garbage\n" + lines[-1].replace(b'"origin":"', b'"origin":"a ', 1) + b"\n", 2),
        ("16 lines of a valid header-less entry stream", body, 1),
        ("first 16 lines are entries of a JSON object without seq/size",
         b'{"a":1}\n' * 16 + data, 2),
        ("header twice at the top", hdr + data, 1),
        ("line of 1.5 MiB garbage in the middle",
         b"".join(l + b"\n" for l in lines[:3]) + b"x" * (3 << 19) + b"\n" + b"".join(l + b"\n" for l in lines[3:]),
         1),
        ("checkpoint line before entry 0 (wrong_origin)", hdr + lines[-1] + b"\n" + body, 1),
        ("checkpoint of size 0 before entry 0", hdr + lines[-1].replace(
            b'"size":%d' % json.loads(lines[-1])["size"], b'"size":0') + b"\n" + body, 1),
        ("only candidate: a well-formed entry line of exactly 1,048,576 bytes",
         sized_entry(1048576) + b"\n" + b"garbage\n" * 15 + data, 1),
        ("only candidate: a well-formed entry line of 1,048,577 bytes",
         sized_entry(1048577) + b"\n" + b"garbage\n" * 15 + data, 2),
        ("entry line of 1,048,577 bytes after the header", hdr + sized_entry(1048577) + b"\n" + body, 1),
    ]
    for name, d, exp in S:
        h.case("g-structure", name, d, trust_path, expect=exp)

    # --- trust roots ---
    good = json.loads(base.trust_root())
    variants = [
        ("pretty-printed", json.dumps(good, indent=2).encode(), 0),
        ("extra member", json.dumps(dict(good, note="x")).encode(), 0),
        ("extra members of every JSON type", json.dumps(dict(good, a=[1, {"b": None}], c=1.5, d=True)).encode(), 0),
        ("uppercase platform_key", json.dumps(dict(good, platform_key=good["platform_key"].upper())).encode(), 2),
        ("platform_key of 62 hex", json.dumps(dict(good, platform_key=good["platform_key"][:62])).encode(), 2),
        ("platform_key small order (identity)", json.dumps(dict(good, platform_key="01" + "00" * 31)).encode(), 2),
        ("platform_key with a torsion component",
         json.dumps(dict(good, platform_key=Signer("tk", torsion_key=True).hex)).encode(), 2),
        ("platform_key y >= p (non-canonical)", json.dumps(dict(good, platform_key="ed" + "ff" * 30 + "7f")).encode(), 2),
        ("platform_key a number", json.dumps(dict(good, platform_key=5)).encode(), 2),
        ("origin of 129 characters", json.dumps(dict(good, origin="o" * 129)).encode(), 2),
        ("origin empty", json.dumps(dict(good, origin="")).encode(), 2),
        ("origin a number", json.dumps(dict(good, origin=1)).encode(), 2),
        ("missing platform_key", json.dumps({"origin": good["origin"]}).encode(), 2),
        ("duplicate ignored member", json.dumps(good).encode()[:-1] + b',"x":1,"x":2}', 2),
        ("UTF-8 BOM before the object", b"\xef\xbb\xbf" + json.dumps(good).encode(), None),
        ("surrounding whitespace and newlines", b"\n  " + json.dumps(good).encode() + b"\n\n", 0),
        ("invalid UTF-8 in an ignored member", json.dumps(good).encode()[:-1] + b',"x":"\xff"}', 2),
        ("lone surrogate escape in an ignored member", json.dumps(good).encode()[:-1] + b',"x":"\\ud800"}', None),
        ("number 1e400 in an ignored member", json.dumps(good).encode()[:-1] + b',"x":1e400}', None),
        ("NaN in an ignored member", json.dumps(good).encode()[:-1] + b',"x":NaN}', 2),
        ("ignored member nested 127 levels deep",
         json.dumps(good).encode()[:-1] + b',"x":' + b"[" * 126 + b"]" * 126 + b"}", 0),
        ("ignored member nested 200 levels deep",
         json.dumps(good).encode()[:-1] + b',"x":' + b"[" * 200 + b"]" * 200 + b"}", None),
        ("missing origin", json.dumps({"platform_key": good["platform_key"]}).encode(), 2),
        ("not JSON", b"origin=x", 2),
        ("empty file", b"", 2),
        ("other origin", json.dumps(dict(good, origin="other")).encode(), 1),
        ("other platform key", json.dumps(dict(good, platform_key=A1.hex)).encode(), 1),
        ("duplicate member", b'{"origin":"x","origin":%s,"platform_key":"%s"}' % (
            json.dumps(good["origin"]).encode(), good["platform_key"].encode()), 2),
        ("origin not a valid origin (space)", json.dumps(dict(good, origin="a b")).encode(), 2),
        ("trailing garbage after the object", base.trust_root() + b" x", 2),
        ("array", b"[]", 2),
    ]
    for name, tr, exp in variants:
        p = os.path.join(work, "tr-variant.json")
        with open(p, "wb") as f:
            f.write(tr)
        h.case("h-trust-root", name, data, p, expect=exp)

    # --- saved checkpoints (state) on a crafted ledger with a rotation ---
    b = prelude()
    biz(b, [A1])                       # seq 4
    cp5 = b.make_checkpoint()          # size 5, not in the export
    cp5_old_other_root = b.make_checkpoint(patch=lambda c: c.update(root="00" * 32))
    cp5_bad_sig = cp5.replace(b'"sig":"', b'"sig":"00', 1)
    cp5_bad_sig = cp5_bad_sig[:cp5_bad_sig.find(b'"sig":"') + 7 + 128] + cp5_bad_sig[cp5_bad_sig.find(b'"sig":"') + 7 + 130:]
    cp5_wrong_both = b.make_checkpoint(patch=lambda c: c.update(root="00" * 32)).replace(b'"sig":"', b'"sig":"1', 1)
    cp5_wrong_both = cp5_wrong_both[:cp5_wrong_both.find(b'"sig":"') + 7 + 128] + cp5_wrong_both[cp5_wrong_both.find(b'"sig":"') + 7 + 129:]
    cp5_other_origin = b.make_checkpoint(patch=lambda c: c.update(origin="other.origin"))
    cp5_odd_prev = b.make_checkpoint(patch=lambda c: c.update(prev_size=3, time="2000-01-01T00:00:00Z"))
    cp5_prev3 = b.make_checkpoint(patch=lambda c: c.update(prev_size=3))
    cp5_nofrac = b.make_checkpoint(patch=lambda c: c.update(time="2026-02-01T00:00:01Z"))
    cp5_prev7 = b.make_checkpoint(patch=lambda c: c.update(prev_size=7))
    cp5_bad_origin = b.make_checkpoint(patch=lambda c: c.update(origin="a b"))
    cp5_early = b.make_checkpoint(patch=lambda c: c.update(time="2000-01-01T00:00:00.000000Z"))
    cp0 = b.make_checkpoint(patch=lambda c: c.update(size=0))
    old = b.plat
    b.rotate(P1)                       # seq 5: rotation; size 6 needs the new key
    cp6_new = b.make_checkpoint()
    cp6_old = b.make_checkpoint(signer=old)
    b.checkpoint()
    biz(b, [A1])                       # seq 6
    cp7_fork = b.make_checkpoint(patch=lambda c: c.update(chain="00" * 32))
    biz(b, [A1])                       # seq 7
    b.checkpoint()
    sdata = b.data()
    with open(trust_path, "wb") as f:
        f.write(b.trust_root())
    states = [
        ("saved size 5 (no such line in the export), consistent", cp5 + b"\n", 0),
        ("saved size 5 without trailing newline", cp5, 0),
        ("saved size 5 with CRLF", cp5 + b"\r\n", 2),
        ("saved size 5 with two final newlines", cp5 + b"\n\n", 2),
        ("saved size 5 with a leading space", b" " + cp5 + b"\n", 2),
        ("saved size 5 pretty-printed", json.dumps(json.loads(cp5), indent=1).encode(), 2),
        ("saved size 5, members in reverse order",
         json.dumps(dict(reversed(list(json.loads(cp5).items()))), separators=(",", ":")).encode(), 2),
        ("saved size 5, validly signed, wrong root -> fork", cp5_old_other_root + b"\n", 1),
        ("saved size 5, bad signature", cp5_bad_sig + b"\n", 2),
        ("saved size 5, wrong root and bad signature (signature first)", cp5_wrong_both + b"\n", 2),
        ("saved size 5, other origin, validly signed", cp5_other_origin + b"\n", 2),
        ("saved size 5, odd prev_size, time without fraction, validly signed", cp5_odd_prev + b"\n", 2),
        ("saved size 5, prev_size 3, validly signed", cp5_prev3 + b"\n", 0),
        ("saved size 5, time without fraction, validly signed", cp5_nofrac + b"\n", 2),
        ("saved size 5, early time with six digits, validly signed", cp5_early + b"\n", 0),
        ("saved size 5, prev_size 7 (>= size), validly signed", cp5_prev7 + b"\n", 0),
        ("saved size 5, origin 'a b' (not a valid origin), validly signed", cp5_bad_origin + b"\n", 2),
        ("saved size 0 (validly signed)", cp0 + b"\n", 2),
        ("state path given, file absent (written on success)", ABSENT, 0),
        ("saved size 6 signed by the new key (after rotation at 5)", cp6_new + b"\n", 0),
        ("saved size 6 signed by the old key", cp6_old + b"\n", 2),
        ("saved size 7, validly signed, wrong chain -> fork", cp7_fork + b"\n", 1),
        ("empty state file", b"", 2),
        ("state file holding just a newline", b"\n", 2),
        ("state file with two checkpoint lines", cp5 + b"\n" + cp6_new + b"\n", 2),
        ("state file holding an entry line", sdata.split(b"\n")[2] + b"\n", 2),
    ]
    for name, st, exp in states:
        h.case("i-state", name, sdata, trust_path, state=st, expect=exp)
    # fork at an entry that is itself defective: the defect comes first
    lines = sdata.split(b"\n")[:-1]
    i5 = 5  # line index of seq 4 (header is 0)
    bad = bytearray(lines[i5])
    k = bad.find(b'"cosig":"') + 9
    bad[k] ^= 1 if bad[k] != ord("f") else 3
    ls = list(lines)
    ls[i5] = bytes(bad)
    h.case("i-state", "saved size 5 (fork) but entry seq 4 has a bad cosig", b"".join(l + b"\n" for l in ls),
           trust_path, state=cp5_old_other_root + b"\n", expect=1)
    # ordering of "unusable saved state" (exit 2) against defects in the export (exit 1)
    def corrupt_cosig(idx):
        ls = list(lines)
        bad = bytearray(ls[idx])
        k = bad.find(b'"cosig":"') + 9
        bad[k] = ord("0") if bad[k] != ord("0") else ord("1")
        ls[idx] = bytes(bad)
        return b"".join(l + b"\n" for l in ls)
    big_other = b.make_checkpoint(patch=lambda c: c.update(size=100, origin="other.origin"))
    big_badsig = b.make_checkpoint(patch=lambda c: c.update(size=100)).replace(b'"sig":"', b'"sig":"0', 1)
    big_badsig = big_badsig[:big_badsig.find(b'"sig":"') + 7 + 128] + big_badsig[big_badsig.find(b'"sig":"') + 7 + 129:]
    for name, d, st, exp in (
            ("state of another origin, export bad at seq 2", corrupt_cosig(3), cp5_other_origin, 2),
            ("state size 5 bad signature, export bad at seq 2", corrupt_cosig(3), cp5_bad_sig, 1),
            ("state size 5 bad signature, export bad at seq 7", corrupt_cosig(9), cp5_bad_sig, 2),
            ("state size 100 > n with a bad signature (truncated)", sdata, big_badsig, 1),
            ("state size 100 > n of another origin", sdata, big_other, 2)):
        h.case("i-state", name, d, trust_path, state=st + b"\n", expect=exp)
    # truncated export that also lacks its final checkpoint
    h.case("i-state", "cut before the final checkpoint, state = size 8",
           b"".join(l + b"\n" for l in lines[:-1]), trust_path, state=lines[-1] + b"\n", expect=1)
    # state checkpoint size equal to n, export without checkpoint at that size
    h.case("i-state", "state = final checkpoint, export = the same", sdata, trust_path, state=lines[-1] + b"\n",
           expect=0)

    # the saved origin is compared at step 3 of entry 0: after rules 8.2-1..5 and
    # the trust root, before the signatures
    oth = cp5_other_origin + b"\n"
    h.case("i-state", "state of another origin, genesis with a bad cosig (origin first)", corrupt_cosig(1),
           trust_path, state=oth, expect=2)
    h.case("i-state", "state of another origin, genesis with a bad cosig, no trust root", corrupt_cosig(1),
           None, state=oth, expect=2)
    other_tr = os.path.join(work, "tr-other.json")
    with open(other_tr, "wb") as f:
        f.write(json.dumps({"origin": b.origin, "platform_key": P1.hex}).encode())
    h.case("i-state", "state of another origin, genesis not matching the trust root (trust root first)", sdata,
           other_tr, state=oth, expect=1)
    g = Builder()
    g.entry("ledger.genesis", "platform-operator", {"origin": g.origin, "platform_key": g.plat.hex}, [g.plat],
            intent_id="genesis", assets=[{"key": "ab" * 32, "op": "reference"}])
    g.add(A1, "org-a")
    g.checkpoint()
    h.case("i-state", "state of another origin, genesis with assets (bad_intent first)", g.data(), trust_path,
           state=oth, expect=1)
    g = Builder()
    g.genesis(time="2026-02-01T00:00:00Z")
    g.add(A1, "org-a")
    g.checkpoint()
    h.case("i-state", "state of another origin, genesis time malformed (malformed_record first)", g.data(),
           trust_path, state=oth, expect=1)
    h.case("i-state", "state whose origin is not a valid origin (SPEC-GAP: read as §2.5), export is only "
           "the header", verify.HEADER + b"\n", trust_path, state=cp5_bad_origin + b"\n", expect=2)
    h.case("i-state", "state of another origin, export is only the header", verify.HEADER + b"\n", trust_path,
           state=oth, expect=1)
    h.case("i-state", "state of another origin, export without entries but a checkpoint",
           verify.HEADER + b"\n" + lines[-1] + b"\n", trust_path, state=oth, expect=1)
    # key/signature of the saved checkpoint are checked only when entry m-1 is applied
    wrongkey = b.make_checkpoint(signer=A1, patch=lambda c: c.update(size=100))
    h.case("i-state", "state size 100 > n signed by an actor key (truncated, key never checked)", sdata,
           trust_path, state=wrongkey + b"\n", expect=1)
    h.case("i-state", "state size 5 signed by an actor key", sdata, trust_path,
           state=b.make_checkpoint(signer=A1, patch=lambda c: c.update(size=5)) + b"\n", expect=2)
    h.case("i-state", "state size 5 signed by an actor key, export bad at seq 3", corrupt_cosig(4), trust_path,
           state=b.make_checkpoint(signer=A1, patch=lambda c: c.update(size=5)) + b"\n", expect=1)



def generate(gen, work, name, *opts):
    """Run the reference gen-export; returns (export bytes, trust-root path)."""
    out = os.path.join(work, name + ".jsonl")
    root = os.path.join(work, name + "-root.json")
    p = subprocess.run([gen] + list(opts) + ["--out", out, "--trust-root-out", root], capture_output=True)
    if p.returncode != 0:
        raise RuntimeError("%s %s failed (exit %d): %s" % (gen, " ".join(opts), p.returncode,
                                                           p.stderr.decode("utf-8", "replace").strip()))
    with open(out, "rb") as f:
        return f.read(), root


def main():
    ap = argparse.ArgumentParser(description="Compare verify.py with the reference scf-verify.")
    ap.add_argument("--verifier", default="/tmp/spec-check-bin/scf-verify", help="the reference scf-verify")
    ap.add_argument("--gen", default="/tmp/spec-check-bin/gen-export", help="the reference gen-export")
    ap.add_argument("--workdir", help="scratch directory (default: a fresh temporary directory, removed at the end)")
    ap.add_argument("--flips", type=int, default=400, help="byte flips sampled on the 30-entry export")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--no-crafted", action="store_true", help="only the (a)-(e) comparisons")
    ap.add_argument("--verbose", action="store_true", help="print every case")
    args = ap.parse_args()
    t0 = time.time()
    for what, path in (("--verifier", args.verifier), ("--gen", args.gen)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print("compare.py: %s %s is not an executable file" % (what, path), file=sys.stderr)
            print("0 passed, 1 failed")
            return 2
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        work = tempfile.mkdtemp(prefix="compare-", dir=args.workdir)
    else:
        work = tempfile.mkdtemp(prefix="spec-check-compare-")
    h = Harness(args.verifier, work)
    h.verbose = args.verbose
    try:
        small, small_root = generate(args.gen, work, "e30", "--events", "30", "--seed", "7",
                                     "--checkpoint-every", "6")
        big, big_root = generate(args.gen, work, "e60", "--events", "60", "--seed", "3",
                                 "--checkpoint-every", "9")
        e120, e120_root = generate(args.gen, work, "e120", "--events", "120", "--seed", "11")
    except (RuntimeError, OSError) as e:
        print("compare.py: %s" % e, file=sys.stderr)
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        print("0 passed, 1 failed")
        return 2

    # (a) untampered
    h.case("a-untampered", "e30 seed7 k6 + trust root", small, small_root, expect=0)
    h.case("a-untampered", "e30 seed7 k6, no trust root", small, expect=0)
    h.case("a-untampered", "e60 seed3 k9 + trust root", big, big_root, expect=0)
    h.case("a-untampered", "e60 seed3 k9, no trust root", big, expect=0)
    h.case("a-untampered", "e60 seed3 k9 vs e30's trust root", big, small_root)
    h.case("a-untampered", "e120 seed11 (default checkpointing) + trust root", e120, e120_root, expect=0)

    # (b) single-byte flips
    for p in flip_positions(small, args.flips):
        d = bytearray(small)
        d[p] ^= 0x01
        h.case("b-flip", "e30 byte %d (line %d)" % (p, small.count(b"\n", 0, p) + 1),
               bytes(d), small_root)
    for p in flip_positions(big, 60, seed=2)[::3]:
        d = bytearray(big)
        d[p] ^= 0x01
        h.case("b-flip", "e60 byte %d (line %d)" % (p, big.count(b"\n", 0, p) + 1), bytes(d), big_root)

    # (c) drops, duplicates, adjacent swaps
    for label, data, root in (("e30", small, small_root), ("e60", big, big_root)):
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
    for label, data, root in (("e30", small, small_root), ("e60", big, big_root)):
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
        h.case("d-state", "%s full export, state file absent (written)" % label, data, root, state=ABSENT, expect=0)
        mid = b"".join(l + b"\n" for l in lines[:cps[1] - 2])
        h.case("d-state", "%s cut mid-way (no final checkpoint), state = last (uncovered_entries wins)" % label,
               mid, root, state=last, expect=1)
        # a state checkpoint whose root was altered: the signature is checked first -> unusable
        c0 = lines[cps[0]]
        k = c0.find(b'"root":"') + 8
        bad = bytearray(c0)
        bad[k] = ord("0") if bad[k] != ord("0") else ord("1")
        h.case("d-state", "%s state checkpoint with altered root" % label, data, root, state=bytes(bad) + b"\n",
               expect=2)
    h.case("d-state", "e30 export, state = e60's last checkpoint", small, small_root,
           state=big.split(b"\n")[-2] + b"\n")
    h.case("d-state", "e60 export, state = e30's last checkpoint", big, big_root,
           state=small.split(b"\n")[-2] + b"\n")
    h.case("d-state", "e30 export, state file garbage", small, small_root, state=b"not json\n", expect=2)

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

    # (f)-(i) crafted ledgers, export structure, trust roots, state files
    if not args.no_crafted:
        crafted(h, work)

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
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    for g, (p_, f_) in sorted(h.groups.items()):
        print("%-14s %4d passed, %3d failed" % (g, p_, f_))
    if h.failed:
        print("\nDisagreements:")
        for f in h.failed:
            print("  " + f)
    if h.code_diffs:
        print("\nSame (exit, seq, line) but a different failure code (informational, %d):" % len(h.code_diffs))
        for c in h.code_diffs:
            print("  " + c)
    print("\nelapsed %.1fs" % dt)
    print("%d passed, %d failed" % (h.passed, len(h.failed)))
    return 0 if not h.failed else 1


if __name__ == "__main__":
    sys.exit(main())
