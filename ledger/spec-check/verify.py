#!/usr/bin/env python3
"""Independent verifier for the scf-ledger export format (SPEC.md, version 1).

Written from SPEC.md alone, Python 3.11 standard library only.

    python3 verify.py [--trust-root FILE] [--state FILE] [--json] EXPORT

Exit status: 0 valid, 1 invalid, 2 unusable.

Where SPEC.md is silent or ambiguous the reading taken is marked "SPEC-GAP".
"""

import argparse
import hashlib
import json
import math
import os
import re
import sys

# ---------------------------------------------------------------------------
# §2.2 Ed25519 (RFC 8032 reference arithmetic, strict + cofactored)
# ---------------------------------------------------------------------------

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
D2 = 2 * D % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def _inv(x):
    return pow(x, P - 2, P)


def _add(p1, p2):
    # RFC 8032 §5.1.4 (complete for a = -1, non-square d)
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * D2 * t2 % P
    d = z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p1):
    x1, y1, z1, _ = p1
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1)
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _neg(p1):
    x, y, z, t = p1
    return ((-x) % P, y, z, (-t) % P)


def _is_identity(p1):
    x, y, z, _ = p1
    return x % P == 0 and (y - z) % P == 0


def _mul(k, p1):
    q = IDENTITY
    for bit in bin(k)[2:] if k > 0 else "":
        q = _double(q)
        if bit == "1":
            q = _add(q, p1)
    return q


def _mul8(p1):
    return _double(_double(_double(p1)))


_BY = 4 * _inv(5) % P


def _recover_x(y, sign):
    """RFC 8032 §5.1.3 x recovery; None if not on the curve or x=0 with sign set."""
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x2 = u * _inv(v) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
        if (x * x - x2) % P != 0:
            return None
    if x == 0 and sign:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


_BX = _recover_x(_BY, 0)
BASE = (_BX, _BY, 1, _BX * _BY % P)
_BASE_POW2 = []
_q = BASE
for _i in range(256):
    _BASE_POW2.append(_q)
    _q = _double(_q)
del _q, _i


def _base_mul(k):
    q = IDENTITY
    i = 0
    while k:
        if k & 1:
            q = _add(q, _BASE_POW2[i])
        k >>= 1
        i += 1
    return q


def decode_point(s):
    """Rules 1-3 of §2.2: canonical y, on the curve, not x=0 with sign bit."""
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


_KEY_CACHE = {}
_SIG_CACHE = {}


def acceptable_key(pub):
    """§2.2 acceptable public key: returns the point or None."""
    if pub in _KEY_CACHE:
        return _KEY_CACHE[pub]
    pt = decode_point(pub)
    if pt is not None:
        if _is_identity(_mul8(pt)):          # rule 4: small order
            pt = None
        elif not _is_identity(_mul(L, pt)):  # rule 5: prime-order subgroup
            pt = None
    _KEY_CACHE[pub] = pt
    return pt


def ed25519_verify(pub, msg, sig):
    ck = (pub, msg, sig)
    r = _SIG_CACHE.get(ck)
    if r is None:
        r = _ed25519_verify(pub, msg, sig)
        _SIG_CACHE[ck] = r
    return r


def _ed25519_verify(pub, msg, sig):
    if len(sig) != 64:
        return False
    a = acceptable_key(pub)
    if a is None:
        return False
    rb = sig[:32]
    rp = decode_point(rb)
    if rp is None or _is_identity(_mul8(rp)):
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(rb + pub + msg).digest(), "little") % L
    t = _add(_base_mul(s), _neg(_add(rp, _mul(k, a))))
    return _is_identity(_mul8(t))


# ---------------------------------------------------------------------------
# §2.3 Canonical JSON (RFC 8785)
# ---------------------------------------------------------------------------

class JSONError(Exception):
    pass


_SURR = re.compile("[\ud800-\udfff]")


# §2.3: "JSON nested 128 or more levels deep (the outermost object or array is
# level 1) is invalid" - so 127 levels is the deepest accepted.
MAX_DEPTH = 127


def _pairs_hook(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise JSONError("duplicate member name %r" % k)
        d[k] = v
    return d


def _bad_constant(name):
    raise JSONError("invalid JSON literal %s" % name)


def _depth(v, lvl=0):
    if isinstance(v, dict):
        lvl += 1
        if lvl > MAX_DEPTH:
            raise JSONError("nesting too deep")
        for x in v.values():
            _depth(x, lvl)
    elif isinstance(v, list):
        lvl += 1
        if lvl > MAX_DEPTH:
            raise JSONError("nesting too deep")
        for x in v:
            _depth(x, lvl)


def _no_lone_surrogates(v):
    if isinstance(v, str):
        if _SURR.search(v):
            raise JSONError("lone surrogate")
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_lone_surrogates(k)
            _no_lone_surrogates(x)
    elif isinstance(v, list):
        for x in v:
            _no_lone_surrogates(x)


def _finite_float(t):
    # §2.3: numbers are IEEE-754 doubles; one that overflows (1e400) is invalid.
    x = float(t)
    if math.isinf(x):
        raise JSONError("number out of range")
    return x


def _finite_int(t):
    if math.isinf(float(t)) if len(t) > 300 else False:
        raise JSONError("number out of range")
    return int(t)


def parse_json(b):
    """Parse UTF-8 JSON bytes strictly (§2.3: no invalid UTF-8, no lone
    surrogates, no duplicate member names, no NaN/Infinity, depth < 128)."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        raise JSONError("invalid UTF-8")
    try:
        v = json.loads(s, object_pairs_hook=_pairs_hook, parse_constant=_bad_constant,
                       parse_float=_finite_float, parse_int=_finite_int)
    except JSONError:
        raise
    except (ValueError, RecursionError) as e:
        raise JSONError("invalid JSON: %s" % e)
    _depth(v)
    _no_lone_surrogates(v)
    return v


def es_number(x):
    """ECMAScript Number::toString for a finite double."""
    if isinstance(x, int) and not isinstance(x, bool):
        try:
            x = float(x)
        except OverflowError:
            raise JSONError("number out of range")
    if math.isnan(x) or math.isinf(x):
        raise JSONError("number out of range")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + es_number(-x)
    r = repr(x)
    mant, _, exp = r.partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    alld = ip + fp
    stripped = alld.lstrip("0")
    lead = len(alld) - len(stripped)
    digits = stripped.rstrip("0")
    n = len(ip) + exp - lead
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    if k == 1:
        return digits + "e" + sign + str(abs(e))
    return digits[0] + "." + digits[1:] + "e" + sign + str(abs(e))


_ESC = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _jcs_str(s):
    out = ['"']
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise JSONError("lone surrogate")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _jcs(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(es_number(v))
    elif isinstance(v, str):
        out.append(_jcs_str(v))
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _jcs(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v, key=lambda s: s.encode("utf-16-be", "surrogatepass"))):
            if i:
                out.append(",")
            out.append(_jcs_str(k))
            out.append(":")
            _jcs(v[k], out)
        out.append("}")
    else:
        raise JSONError("unserialisable value")


def jcs(v):
    out = []
    try:
        _jcs(v, out)
    except RecursionError:
        raise JSONError("nesting too deep")
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise JSONError("lone surrogate")


def canonical_parse(b):
    """§2.3 canonical check: parse, re-serialise, demand byte equality."""
    v = parse_json(b)
    if jcs(v) != b:
        raise JSONError("not canonical JSON")
    return v


# ---------------------------------------------------------------------------
# §1, §2.4, §2.5 small syntaxes
# ---------------------------------------------------------------------------

_HEX = {n: re.compile(r"[0-9a-f]{%d}" % n) for n in (32, 64, 128)}
_TS = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z")
_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_SEG = re.compile(r"[a-z][a-z0-9_]*")
MAX_INT = 2 ** 53 - 1


def is_hex(v, n):
    return isinstance(v, str) and _HEX[n].fullmatch(v) is not None


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_INT


def is_id(v):
    return isinstance(v, str) and _ID.fullmatch(v) is not None


def is_type(v):
    if not isinstance(v, str) or not (1 <= len(v) <= 64):
        return False
    segs = v.split(".")
    return len(segs) >= 2 and all(_SEG.fullmatch(s) for s in segs)


def is_origin(v):
    return (isinstance(v, str) and 1 <= len(v) <= 128
            and all(0x21 <= ord(c) <= 0x7E for c in v))


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_ts(v):
    """§2.4: returns the instant in nanoseconds, or None if invalid."""
    if not isinstance(v, str):
        return None
    m = _TS.fullmatch(v)
    if not m:
        return None
    y, mo, d, hh, mi, ss = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    if not (1 <= mo <= 12) or hh > 23 or mi > 59 or ss > 59:
        return None
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    mdays = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    if not (1 <= d <= mdays):
        return None
    ns = int((frac + "000000000")[:9])
    secs = _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss
    return secs * 10 ** 9 + ns


def parse_platform_ts(v):
    """§2.4: the platform's own times (entry and checkpoint `time`) MUST have
    exactly six fractional digits; any other spelling is malformed."""
    if not isinstance(v, str):
        return None
    m = _TS.fullmatch(v)
    if not m or m.group(7) is None or len(m.group(7)) != 6:
        return None
    return parse_ts(v)


def key_id(pub):
    return hashlib.sha256(b"scf-ledger/v1/key\n" + pub).digest()[:16].hex()


# ---------------------------------------------------------------------------
# §3 hashes
# ---------------------------------------------------------------------------

def leaf_hash(e):
    return hashlib.sha256(b"\x00" + e).digest()


def node_hash(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def chain_hash(prev, leaf):
    return hashlib.sha256(b"\x02" + prev + leaf).digest()


class Merkle:
    """Incremental RFC 6962 tree: a stack of perfect subtrees."""

    def __init__(self):
        self.stack = []  # (height, hash)
        self.n = 0

    def append(self, leaf):
        self.stack.append((0, leaf))
        self.n += 1
        while len(self.stack) >= 2 and self.stack[-1][0] == self.stack[-2][0]:
            h, r = self.stack.pop()
            _, l = self.stack.pop()
            self.stack.append((h + 1, node_hash(l, r)))

    def root(self):
        if not self.stack:
            return hashlib.sha256(b"").digest()
        r = self.stack[-1][1]
        for _, h in reversed(self.stack[:-1]):
            r = node_hash(h, r)
        return r


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------

HEADER = b'{"format":"scf-ledger-export","version":1}'
ENTRY_MEMBERS = {"cosig", "intent", "seq", "sigs", "time"}
CP_MEMBERS = {"chain", "key_id", "origin", "prev_size", "root", "sig", "size", "time"}
INTENT_MEMBERS = {"assets", "body", "client_time", "id", "key_id", "org", "schema", "subject", "type"}
ASSET_OPS = {"encumber", "release", "reference"}
LEDGER_TYPES = {"ledger.genesis", "ledger.rotate_platform_key"}
KEY_TYPES = {"key.add", "key.revoke"}
# §9: "A line longer than 1,048,576 bytes (without its newline) is malformed."
MAX_LINE = 1048576


class Defect(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Unusable(Exception):
    pass


def entry_typed(o):
    """The members of §5.1 with their types; returns an error string or None."""
    if not isinstance(o, dict):
        return "not a JSON object"
    if set(o) != ENTRY_MEMBERS:
        return "entry members are not exactly %s" % sorted(ENTRY_MEMBERS)
    if not is_hex(o["cosig"], 128):
        return "cosig is not 128 lowercase hex"
    if not isinstance(o["intent"], str):
        return "intent is not a string"
    if not is_int(o["seq"]):
        return "seq is not an integer in range"
    if parse_platform_ts(o["time"]) is None:
        return "time is not a timestamp with exactly six fractional digits"
    sigs = o["sigs"]
    if not isinstance(sigs, list) or not (1 <= len(sigs) <= 16):
        return "sigs is not an array of 1-16 items"
    seen = set()
    for s in sigs:
        if not isinstance(s, dict) or set(s) != {"key_id", "sig"}:
            return "a sigs item is not {key_id, sig}"
        if not is_hex(s["key_id"], 32) or not is_hex(s["sig"], 128):
            return "a sigs item has a bad key_id or sig"
        if s["key_id"] in seen:
            return "a key_id appears twice in sigs"
        seen.add(s["key_id"])
    return None


def checkpoint_typed(o):
    if not isinstance(o, dict):
        return "not a JSON object"
    if set(o) != CP_MEMBERS:
        return "checkpoint members are not exactly %s" % sorted(CP_MEMBERS)
    if not is_hex(o["chain"], 64) or not is_hex(o["root"], 64):
        return "chain/root is not 64 lowercase hex"
    if not is_hex(o["key_id"], 32):
        return "key_id is not 32 lowercase hex"
    if not is_hex(o["sig"], 128):
        return "sig is not 128 lowercase hex"
    # SPEC-GAP: §7 says only "the ledger's origin"; read, like key_id, as the
    # format of §2.5 (1-128 printable ASCII without space).
    if not is_origin(o["origin"]):
        return "origin is not a valid origin (§2.5)"
    if not is_int(o["prev_size"]) or not is_int(o["size"]):
        return "prev_size/size is not an integer in range"
    if o["size"] < 1:
        return "size is less than 1"
    if parse_platform_ts(o["time"]) is None:
        return "time is not a timestamp with exactly six fractional digits"
    return None


def well_formed_record(line, terminated):
    """§10.2 'well-formed record' for the first-16-lines usability test: a
    line ending in \n that is exactly the header, or canonical JSON that §9
    classifies as an entry or a checkpoint whose members meet §5.1 or §7."""
    if not terminated or len(line) > MAX_LINE:
        return False
    if line == HEADER:
        return True
    try:
        o = canonical_parse(line)
    except JSONError:
        return False
    if not isinstance(o, dict):
        return False
    if "seq" in o:
        return entry_typed(o) is None
    if "size" in o:
        return checkpoint_typed(o) is None
    return False


def check_intent(ib):
    if len(ib) > 65536:
        raise Defect("bad_intent", "intent longer than 65536 bytes")
    try:
        i = canonical_parse(ib)
    except JSONError as e:
        raise Defect("bad_intent", "intent: %s" % e)
    if not isinstance(i, dict) or set(i) != INTENT_MEMBERS:
        raise Defect("bad_intent", "intent members are not exactly %s" % sorted(INTENT_MEMBERS))
    assets = i["assets"]
    if not isinstance(assets, list) or len(assets) > 64:
        raise Defect("bad_intent", "assets is not an array of 0-64 items")
    prev = None
    for a in assets:
        if not isinstance(a, dict) or set(a) != {"key", "op"}:
            raise Defect("bad_intent", "an asset is not {key, op}")
        if not is_hex(a["key"], 64) or not isinstance(a["op"], str) or a["op"] not in ASSET_OPS:
            raise Defect("bad_intent", "an asset has a bad key or op")
        if prev is not None and not (a["key"] > prev):
            raise Defect("bad_intent", "asset keys are not strictly ascending")
        prev = a["key"]
    if not isinstance(i["body"], dict):
        raise Defect("bad_intent", "body is not an object")
    if parse_ts(i["client_time"]) is None:
        raise Defect("bad_intent", "client_time is not a valid timestamp")
    if not is_id(i["id"]):
        raise Defect("bad_intent", "bad intent id")
    if not is_hex(i["key_id"], 32):
        raise Defect("bad_intent", "bad key_id")
    if not is_id(i["org"]):
        raise Defect("bad_intent", "bad org")
    if not is_int(i["schema"]) or i["schema"] != 1:
        raise Defect("bad_intent", "schema is not 1")
    # §4: 0-256 Unicode scalar values (Python str length; surrogates rejected).
    if not isinstance(i["subject"], str) or len(i["subject"]) > 256:
        raise Defect("bad_intent", "bad subject")
    if not is_type(i["type"]):
        raise Defect("bad_intent", "bad event type")
    return i


def body_member(body, name, typ):
    """§8.3: a named body member that is missing or of the wrong type is
    bad_intent, reported at the step where its rule is checked."""
    v = body.get(name)
    if not isinstance(v, typ):
        raise Defect("bad_intent", "body.%s is missing or not a %s" % (name, typ.__name__))
    return v


class KeyRec:
    __slots__ = ("pub", "org", "role", "valid_from", "valid_until")

    def __init__(self, pub, org, role, valid_from):
        self.pub = pub
        self.org = org
        self.role = role
        self.valid_from = valid_from
        self.valid_until = None

    def valid_at(self, seq):
        return self.valid_from <= seq and (self.valid_until is None or seq <= self.valid_until)


def load_saved_checkpoint(b):
    # §10.1: one checkpoint line, canonical JSON, with or without a final \n,
    # well-formed per §7 (size >= 1, time with six fractional digits);
    # anything else is unusable.
    if b.endswith(b"\n"):
        b = b[:-1]
    try:
        o = canonical_parse(b)
    except JSONError as e:
        raise Unusable("saved checkpoint: %s" % e)
    err = checkpoint_typed(o)
    if err:
        raise Unusable("saved checkpoint: %s" % err)
    return o


def load_trust_root(b):
    # §10.1: a JSON object (any formatting) with `origin` (a valid origin) and
    # `platform_key` (an acceptable key, 64 lowercase hex); other members are
    # ignored; a repeated member name, or anything else, makes it unusable.
    try:
        o = parse_json(b)
    except JSONError as e:
        raise Unusable("trust root: %s" % e)
    if not isinstance(o, dict):
        raise Unusable("trust root: not a JSON object")
    if not is_origin(o.get("origin")):
        raise Unusable("trust root: origin is missing or not a valid origin")
    pk = o.get("platform_key")
    if not is_hex(pk, 64) or acceptable_key(bytes.fromhex(pk)) is None:
        raise Unusable("trust root: platform_key is missing or not an acceptable key")
    return o


class Verifier:
    def __init__(self, trust_root=None, saved=None):
        self.trust_root = trust_root
        self.saved = saved
        self.origin = None
        self.genesis_key = None
        self.keys = {}
        self.current = None          # current platform key id
        self.intents = set()
        self.encumbered = set()
        self.last_time = None
        self.n = 0
        self.chain = b"\x00" * 32
        self.tree = Merkle()
        self.last_cp = None          # (size, time_ns, line bytes)
        self.checkpoints = 0
        self.saved_consistent = None

    # ---------------- entries ----------------
    def check_entry(self, line, terminated, obj):
        n = self.n
        # 1. well-formed
        if not terminated:
            raise Defect("malformed_record", "line not terminated by \\n")
        try:
            canonical_parse(line)
        except JSONError as e:
            raise Defect("malformed_record", str(e))
        err = entry_typed(obj)
        if err:
            raise Defect("malformed_record", err)
        # 2. intent
        ib = obj["intent"].encode("utf-8")
        I = check_intent(ib)
        seq = obj["seq"]
        t = parse_platform_ts(obj["time"])
        sigs = obj["sigs"]
        typ = I["type"]
        body = I["body"]
        # 3. rules 8.2-1..5
        if seq != n:
            raise Defect("bad_seq", "seq %d, expected %d" % (seq, n))
        if self.last_time is not None and t < self.last_time:
            raise Defect("time_regressed", "time is before the previous entry's")
        if sigs[0]["key_id"] != I["key_id"]:
            raise Defect("actor_mismatch", "sigs[0].key_id differs from intent key_id")
        if (n == 0) != (typ == "ledger.genesis"):
            raise Defect("bad_genesis", "ledger.genesis must be exactly entry 0")
        # 8.2-5, signer rules of the event type (§8.3)
        if typ in LEDGER_TYPES or typ in KEY_TYPES:
            # §8.3: these four types carry no assets (bad_intent, with the
            # signer rules)
            if I["assets"]:
                raise Defect("bad_intent", "%s intents must have an empty assets array" % typ)
        sig_keys = []     # public key bytes for each signature, in order
        effect = None
        new_origin = self.origin
        cosig_key = None
        if typ == "ledger.genesis":
            origin = body_member(body, "origin", str)
            if not is_origin(origin):
                raise Defect("bad_origin", "genesis origin is not a valid origin")
            pkh = body_member(body, "platform_key", str)
            if not is_hex(pkh, 64) or acceptable_key(bytes.fromhex(pkh)) is None:
                raise Defect("bad_key", "genesis platform_key is not an acceptable key")
            pk = bytes.fromhex(pkh)
            if I["key_id"] != key_id(pk):
                raise Defect("bad_genesis", "intent key_id is not the platform key's id")
            if len(sigs) != 1:
                raise Defect("bad_genesis", "genesis must carry exactly one signature")
            # §10.4 step 3, for entry 0: the trust root, then the saved
            # checkpoint's origin (§10.1)
            if self.trust_root is not None and (
                    origin != self.trust_root["origin"] or pkh != self.trust_root["platform_key"]):
                raise Defect("untrusted_genesis", "genesis does not match the trust root")
            if self.saved is not None and self.saved["origin"] != origin:
                raise Unusable("saved checkpoint origin differs from the export's genesis origin")
            sig_keys = [pk]
            cosig_key = pk
            new_origin = origin
            effect = ("genesis", pk, I["key_id"])
        else:
            cur = self.keys[self.current]
            cosig_key = cur.pub
            if typ == "ledger.rotate_platform_key":
                if I["key_id"] != self.current:
                    raise Defect("bad_rotation", "rotation not by the current platform key")
                nkh = body_member(body, "new_key", str)
                if not is_hex(nkh, 64) or acceptable_key(bytes.fromhex(nkh)) is None:
                    raise Defect("bad_key", "new_key is not an acceptable key")
                nk = bytes.fromhex(nkh)
                nkid = key_id(nk)
                if nkid in self.keys:
                    raise Defect("key_exists", "new_key seen before")
                if len(sigs) != 2 or sigs[1]["key_id"] != nkid:
                    raise Defect("bad_rotation", "rotation must be signed by the current key then the new key")
                sig_keys = [cur.pub, nk]
                effect = ("rotate", nk, nkid, I["org"])
            elif typ.startswith("ledger.") or (typ.startswith("key.") and typ not in KEY_TYPES):
                raise Defect("reserved_type", "reserved event type %s" % typ)
            elif typ == "key.add":
                kh = body_member(body, "public_key", str)
                if not is_hex(kh, 64) or acceptable_key(bytes.fromhex(kh)) is None:
                    raise Defect("bad_key", "public_key is not an acceptable key")
                k = bytes.fromhex(kh)
                kid = key_id(k)
                if kid in self.keys:
                    raise Defect("key_exists", "key id already known")
                if not any(s["key_id"] == kid for s in sigs):
                    raise Defect("no_proof_of_possession", "no signature by the new key")
                for s in sigs:
                    if s["key_id"] == kid:
                        sig_keys.append(k)
                    else:
                        rec = self._actor(s["key_id"], seq)
                        sig_keys.append(rec.pub)
                if sigs[0]["key_id"] != kid and self.keys[sigs[0]["key_id"]].org != I["org"]:
                    raise Defect("wrong_org", "actor key not of the intent's organisation")
                effect = ("add", k, kid, I["org"])
            else:  # key.revoke and business events
                for s in sigs:
                    sig_keys.append(self._actor(s["key_id"], seq).pub)
                if self.keys[sigs[0]["key_id"]].org != I["org"]:
                    raise Defect("wrong_org", "actor key not of the intent's organisation")
                if typ == "key.revoke":
                    effect = ("revoke",)
        # 4. signatures then cosig
        msg = b"scf-ledger/v1/intent\n" + ib
        for i, (s, pk) in enumerate(zip(sigs, sig_keys)):
            if not ed25519_verify(pk, msg, bytes.fromhex(s["sig"])):
                raise Defect("bad_signature", "sigs[%d] is not a valid signature" % i)
        unsigned = b"{" + line[140:]
        cmsg = b"scf-ledger/v1/cosig\n" + new_origin.encode("utf-8") + b"\n" + unsigned
        if not ed25519_verify(cosig_key, cmsg, bytes.fromhex(obj["cosig"])):
            raise Defect("bad_cosig", "countersignature invalid")
        # 5. rules 8.2-7..9
        if (I["org"], I["id"]) in self.intents:
            raise Defect("duplicate_intent", "(org, id) already recorded")
        revoked = None
        if typ == "key.revoke":
            rk = body_member(body, "key_id", str)
            if not is_hex(rk, 32):
                raise Defect("bad_key", "body.key_id is not 32 hex")
            rec = self.keys.get(rk)
            if rec is None:
                raise Defect("unknown_key", "revoked key unknown")
            if rec.role != "actor":
                raise Defect("wrong_key_role", "revoked key is not an actor key")
            if not rec.valid_at(seq):
                raise Defect("key_not_valid", "revoked key not valid at seq")
            if rec.org != I["org"]:
                raise Defect("wrong_org", "revoked key belongs to another organisation")
            revoked = rk
        for a in I["assets"]:
            if a["op"] == "encumber" and a["key"] in self.encumbered:
                raise Defect("asset_already_encumbered", "asset %s already encumbered" % a["key"])
            if a["op"] == "release" and a["key"] not in self.encumbered:
                raise Defect("asset_not_encumbered", "asset %s not encumbered" % a["key"])
        # leaf / chain for this entry
        leaf = leaf_hash(line)
        new_chain = chain_hash(self.chain, leaf)
        # 6. saved checkpoint of size seq+1
        fork_check = self.saved is not None and self.saved["size"] == seq + 1
        # apply
        self.intents.add((I["org"], I["id"]))
        if effect is not None:
            if effect[0] == "genesis":
                _, pk, kid = effect
                self.origin = new_origin
                self.genesis_key = kid
                self.keys[kid] = KeyRec(pk, I["org"], "platform", 0)
                self.current = kid
            elif effect[0] == "rotate":
                _, nk, nkid, org = effect
                self.keys[self.current].valid_until = seq
                self.keys[nkid] = KeyRec(nk, org, "platform", seq + 1)
                self.current = nkid
            elif effect[0] == "add":
                _, k, kid, org = effect
                self.keys[kid] = KeyRec(k, org, "actor", seq)
        if revoked is not None:
            self.keys[revoked].valid_until = seq
        for a in I["assets"]:
            if a["op"] == "encumber":
                self.encumbered.add(a["key"])
            elif a["op"] == "release":
                self.encumbered.discard(a["key"])
        self.last_time = t
        self.n = seq + 1
        self.chain = new_chain
        self.tree.append(leaf)
        if fork_check:
            # §10.1 / §10.4 step 6: once entry m-1 is applied, the key in
            # force at seq = m and the signature (unusable), then root and
            # chain (fork).
            sv = self.saved
            if sv["key_id"] != self.current:
                raise Unusable("saved checkpoint key_id is not the platform key in force at its size")
            if not ed25519_verify(self.keys[self.current].pub, cp_message(sv), bytes.fromhex(sv["sig"])):
                raise Unusable("saved checkpoint signature invalid")
            if sv["root"] != self.tree.root().hex() or sv["chain"] != self.chain.hex():
                raise Defect("fork", "saved checkpoint disagrees with the export at size %d" % sv["size"])
            self.saved_consistent = True

    def _actor(self, kid, seq):
        rec = self.keys.get(kid)
        if rec is None:
            raise Defect("unknown_key", "unknown key %s" % kid)
        if rec.role != "actor":
            raise Defect("wrong_key_role", "platform key %s used as an actor" % kid)
        if not rec.valid_at(seq):
            raise Defect("key_not_valid", "key %s not valid at seq %d" % (kid, seq))
        return rec

    # ---------------- checkpoints ----------------
    def check_checkpoint(self, line, terminated, obj):
        n = self.n
        if not terminated:
            raise Defect("malformed_record", "line not terminated by \\n")
        try:
            canonical_parse(line)
        except JSONError as e:
            raise Defect("malformed_record", str(e))
        err = checkpoint_typed(obj)
        if err:
            raise Defect("malformed_record", err)
        if self.origin is None or obj["origin"] != self.origin:
            raise Defect("wrong_origin", "checkpoint origin is not the ledger's")
        if obj["size"] != n or n < 1:
            raise Defect("bad_checkpoint_size", "size %d, expected %d" % (obj["size"], n))
        prev = self.last_cp[0] if self.last_cp else 0
        if obj["prev_size"] != prev or not obj["prev_size"] < obj["size"]:
            raise Defect("checkpoint_gap", "prev_size %d, expected %d" % (obj["prev_size"], prev))
        t = parse_platform_ts(obj["time"])
        if (self.last_time is not None and t < self.last_time) or (self.last_cp and t < self.last_cp[1]):
            raise Defect("time_regressed", "checkpoint time regressed")
        if obj["key_id"] != self.current:
            raise Defect("wrong_platform_key", "checkpoint not signed by the platform key in force")
        if not ed25519_verify(self.keys[self.current].pub, cp_message(obj), bytes.fromhex(obj["sig"])):
            raise Defect("bad_checkpoint_signature", "checkpoint signature invalid")
        if obj["root"] != self.tree.root().hex() or obj["chain"] != self.chain.hex():
            raise Defect("fork_evidence", "validly signed checkpoint disagrees with the entries")
        self.last_cp = (obj["size"], t, line, obj)
        self.checkpoints += 1


def cp_message(o):
    return b"scf-ledger/v1/checkpoint\n" + jcs({k: v for k, v in o.items() if k != "sig"})


def split_lines(data):
    parts = data.split(b"\n")
    out = [(p, True) for p in parts[:-1]]
    if parts[-1] != b"":
        out.append((parts[-1], False))
    return out


def verify_export(data, trust_root=None, saved=None):
    """Returns a report dict; raises Unusable."""
    if not data:
        raise Unusable("the input is empty")
    lines = split_lines(data)
    if not any(well_formed_record(l, term) for l, term in lines[:16]):
        raise Unusable("none of the first 16 lines is a well-formed record")
    v = Verifier(trust_root, saved)
    failure = None
    last_kind = None
    for idx, (line, term) in enumerate(lines):
        lineno = idx + 1
        seq_here = v.n
        try:
            if lineno == 1:
                if line != HEADER or not term:
                    raise Defect("bad_header", "line 1 is not the export header")
                last_kind = "header"
                continue
            if line == HEADER:
                raise Defect("malformed_record", "header line after line 1")
            if len(line) > MAX_LINE:
                raise Defect("malformed_record", "line longer than 1,048,576 bytes")
            try:
                obj = parse_json(line)
            except JSONError as e:
                raise Defect("malformed_record", str(e))
            if isinstance(obj, dict) and "seq" in obj:
                v.check_entry(line, term, obj)
                last_kind = "entry"
            elif isinstance(obj, dict) and "size" in obj:
                v.check_checkpoint(line, term, obj)
                last_kind = "checkpoint"
            else:
                raise Defect("malformed_record", "neither an entry nor a checkpoint")
        except Defect as d:
            failure = {"seq": seq_here, "line": lineno, "code": d.code, "message": d.message}
            break
    if failure is None:
        # §10.3: both end-of-input defects are reported on the last line of
        # the input; if both apply, uncovered_entries wins.
        end_line = len(lines)
        if last_kind != "checkpoint":
            failure = {"seq": v.last_cp[0] if v.last_cp else 0, "line": end_line,
                       "code": "uncovered_entries",
                       "message": "the export does not end with a checkpoint covering every entry"}
        elif saved is not None and saved["size"] > v.n:
            failure = {"seq": v.n, "line": end_line, "code": "truncated",
                       "message": "saved checkpoint of size %d is beyond the %d entries of the export"
                                  % (saved["size"], v.n)}
    report = {
        "valid": failure is None,
        "failure": failure,
        "entries": v.n,
        "checkpoints": v.checkpoints,
        "origin": v.origin,
        "anchored": trust_root is not None,
        "saved_checkpoint_consistent": v.saved_consistent,
    }
    if v.last_cp:
        cp = v.last_cp[3]
        report["latest_checkpoint"] = {k: cp[k] for k in ("chain", "key_id", "root", "size", "time")}
    report["_latest_line"] = v.last_cp[2] if v.last_cp else None
    return report


def run(argv):
    """Run the CLI; returns (exit_code, report_dict). Prints nothing."""
    return _run(argv)[:2]


def _run(argv):
    ap = argparse.ArgumentParser(prog="verify.py", allow_abbrev=False)
    ap.add_argument("--trust-root")
    ap.add_argument("--state")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("export")
    a = ap.parse_args(argv)
    try:
        trust = None
        if a.trust_root is not None:
            try:
                with open(a.trust_root, "rb") as f:
                    trust = load_trust_root(f.read())
            except OSError as e:
                raise Unusable("trust root: %s" % e)
        saved = None
        if a.state is not None and os.path.exists(a.state):
            try:
                with open(a.state, "rb") as f:
                    saved = load_saved_checkpoint(f.read())
            except OSError as e:
                raise Unusable("saved checkpoint: %s" % e)
        try:
            if a.export == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(a.export, "rb") as f:
                    data = f.read()
        except OSError as e:
            raise Unusable("cannot read the export: %s" % e)
        report = verify_export(data, trust, saved)
    except Unusable as u:
        return 2, {"valid": False, "failure": None, "unusable": str(u)}, a
    latest = report.pop("_latest_line")
    if report["valid"]:
        if a.state is not None and latest is not None:
            with open(a.state, "wb") as f:
                f.write(latest + b"\n")
        return 0, report, a
    return 1, report, a


def main(argv=None):
    code, report, a = _run(sys.argv[1:] if argv is None else argv)
    if a.json:
        print(json.dumps(report, sort_keys=True, separators=(",", ":")))
    else:
        if code == 2:
            print("verify.py: unusable input: %s" % report["unusable"])
        elif code == 0:
            print("valid: %d entries, %d checkpoints, origin %s%s" % (
                report["entries"], report["checkpoints"], report["origin"],
                "" if report["anchored"] else " (genesis taken on trust: no --trust-root)"))
        else:
            f = report["failure"]
            print("INVALID at seq %d (line %d): %s: %s" % (f["seq"], f["line"], f["code"], f["message"]))
    return code


if __name__ == "__main__":
    sys.exit(main())
