"""A pprof profile.proto encoder by hand (no protobuf dependency), for count profiles.

Field numbers are those of github.com/google/pprof/proto/profile.proto:

    Profile:  1 sample_type (ValueType)  2 sample  3 mapping  4 location  5 function
              6 string_table  9 time_nanos  10 duration_nanos  11 period_type  12 period
              13 comment
    ValueType: 1 type  2 unit                       (string table indexes)
    Sample:    1 location_id (packed, leaf first)  2 value (packed)
    Mapping:   1 id  2 memory_start  3 memory_limit  4 file_offset  5 filename  6 build_id
               7 has_functions  8 has_filenames  9 has_line_numbers  10 has_inline_frames
    Location:  1 id  2 mapping_id  3 address  4 line (Line)
    Line:      1 function_id  2 line
    Function:  1 id  2 name  3 system_name  4 filename  5 start_line

Like runtime/pprof's count profiles: period_type and sample_type are ``<name>/count``, the period
is 1, each sample is one distinct stack with its count, and the output is gzipped.
"""
import gzip
import time

from ._gsnap import GOEXIT, frame_pc

MAPPING_START = 0x400000
MAPPING_LIMIT = 0x80000000


def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint(field << 3 | wire)


def _int(field, n):
    """A varint field (omitted when zero, as proto3 does)."""
    return _key(field, 0) + _varint(n) if n else b""


def _bytes(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _packed(field, nums):
    if not nums:
        return b""
    return _bytes(field, b"".join(_varint(n) for n in nums))


class _Strings:
    def __init__(self):
        self.index = {"": 0}
        self.table = [""]

    def __call__(self, s):
        i = self.index.get(s)
        if i is None:
            i = self.index[s] = len(self.table)
            self.table.append(s)
        return i


def encode(name, samples, *, program="chanemu", comments=(), time_nanos=None,
           duration_nanos=0):
    """Gzipped profile.proto bytes for a count profile.

    samples: (count, stack) pairs, stack a tuple of frames (function, file, line, offset,
    start_line) innermost first. runtime.goexit frames are dropped, as runtime/pprof does."""
    s = _Strings()
    functions = {}      # (name, file) -> id
    locations = {}      # frame -> id
    func_msgs = []
    loc_msgs = []
    sample_msgs = []
    for count, stack in samples:
        ids = []
        for fr in stack:
            if fr[0] == GOEXIT:
                continue
            lid = locations.get(fr)
            if lid is None:
                fkey = (fr[0], fr[1])
                fid = functions.get(fkey)
                if fid is None:
                    fid = functions[fkey] = len(functions) + 1
                    func_msgs.append(_bytes(5, _int(1, fid) + _int(2, s(fr[0])) +
                                            _int(3, s(fr[0])) + _int(4, s(fr[1])) +
                                            _int(5, fr[4])))
                lid = locations[fr] = len(locations) + 1
                line = _bytes(4, _int(1, fid) + _int(2, fr[2]))
                loc_msgs.append(_bytes(4, _int(1, lid) + _int(2, 1) + _int(3, frame_pc(fr)) +
                                       line))
            ids.append(lid)
        sample_msgs.append(_bytes(2, _packed(1, ids) + _packed(2, [count])))

    out = bytearray()
    out += _bytes(1, _int(1, s(name)) + _int(2, s("count")))          # sample_type
    for m in sample_msgs:
        out += m
    out += _bytes(3, _int(1, 1) + _int(2, MAPPING_START) + _int(3, MAPPING_LIMIT) +
                  _int(5, s(program)) + _int(7, 1) + _int(8, 1) + _int(9, 1))
    for m in loc_msgs:
        out += m
    for m in func_msgs:
        out += m
    comment_ids = [s(c) for c in comments]
    for st in s.table:
        out += _bytes(6, st.encode("utf-8", "surrogatepass"))
    out += _int(9, time.time_ns() if time_nanos is None else time_nanos)
    out += _int(10, duration_nanos)
    out += _bytes(11, _int(1, s.index[name]) + _int(2, s.index["count"]))   # period_type
    out += _int(12, 1)                                                      # period
    for i in comment_ids:
        out += _int(13, i)
    return gzip.compress(bytes(out), mtime=0)


# -- a reader, for tests and for the delta profile ------------------------------------------
def _read_varint(b, i):
    n = shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        if not c & 0x80:
            return n, i
        shift += 7


def _fields(b):
    i = 0
    while i < len(b):
        k, i = _read_varint(b, i)
        field, wire = k >> 3, k & 7
        if wire == 0:
            v, i = _read_varint(b, i)
        elif wire == 2:
            n, i = _read_varint(b, i)
            v = b[i:i + n]
            i += n
        elif wire == 1:
            v = int.from_bytes(b[i:i + 8], "little")
            i += 8
        elif wire == 5:
            v = int.from_bytes(b[i:i + 4], "little")
            i += 4
        else:
            raise ValueError(f"bad wire type {wire}")
        yield field, wire, v


def _packed_ints(wire, v):
    if wire == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        n, i = _read_varint(v, i)
        out.append(n)
    return out


def decode(data):
    """Parse (gzipped) profile.proto bytes into plain dicts: {'sample_type', 'samples':
    [(values, [function names leaf first])], 'strings', 'period_type', 'period', ...}."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, raw_samples, funcs, locs, mappings, comments = [], [], {}, {}, [], []
    prof = {"time_nanos": 0, "duration_nanos": 0, "period": 0}
    sample_type = period_type = None
    for f, w, v in _fields(data):
        if f == 1:
            sample_type = dict((ff, vv) for ff, _, vv in _fields(v))
        elif f == 2:
            loc_ids, values = [], []
            for ff, ww, vv in _fields(v):
                if ff == 1:
                    loc_ids += _packed_ints(ww, vv)
                elif ff == 2:
                    values += [x - (1 << 64) if x >= 1 << 63 else x for x in _packed_ints(ww, vv)]
            raw_samples.append((values, loc_ids))
        elif f == 3:
            mappings.append(dict((ff, vv) for ff, _, vv in _fields(v)))
        elif f == 4:
            loc = {"lines": []}
            for ff, _, vv in _fields(v):
                if ff == 4:
                    loc["lines"].append(dict((a, c) for a, _, c in _fields(vv)))
                else:
                    loc[ff] = vv
            locs[loc[1]] = loc
        elif f == 5:
            fn = dict((ff, vv) for ff, _, vv in _fields(v))
            funcs[fn[1]] = fn
        elif f == 6:
            strings.append(v.decode("utf-8", "surrogatepass"))
        elif f == 9:
            prof["time_nanos"] = v
        elif f == 10:
            prof["duration_nanos"] = v
        elif f == 11:
            period_type = dict((ff, vv) for ff, _, vv in _fields(v))
        elif f == 12:
            prof["period"] = v
        elif f == 13:
            comments.append(v)

    def st(i):
        return strings[i] if i < len(strings) else ""

    def frames(loc_ids):
        out = []
        for lid in loc_ids:
            loc = locs[lid]
            for ln in loc["lines"]:
                fn = funcs[ln[1]]
                out.append((st(fn.get(2, 0)), st(fn.get(4, 0)), ln.get(2, 0), loc.get(3, 0)))
        return out

    prof["strings"] = strings
    prof["sample_type"] = (st(sample_type.get(1, 0)), st(sample_type.get(2, 0)))
    prof["period_type"] = (st(period_type.get(1, 0)), st(period_type.get(2, 0))) \
        if period_type else None
    prof["samples"] = [(vals, frames(ids)) for vals, ids in raw_samples]
    prof["mappings"] = mappings
    prof["comments"] = [st(i) for i in comments]
    prof["functions"] = funcs
    prof["locations"] = locs
    return prof
