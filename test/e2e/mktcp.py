#!/usr/bin/python3
# Large TCP frames for the offload tests, and a checker for what arrives.
#   mktcp.py gen OUT DST SRC COUNT PAYLOAD [ipv6]: a pcap of COUNT TCP frames (IPv4, or IPv6),
#       PAYLOAD bytes each, correct checksums; frame i has source port 1000+i, sequence
#       i * 10**6 and a payload pattern of its own, so that segments can be put back together.
#   mktcp.py check PCAP COUNT PAYLOAD [--partial]: reads the frames a pod wrote, prints
#       "frames=N bytes=B maxlen=M badcsum=K payload=ok|bad" (one line). --partial: the TCP
#       checksum is a GSO frame's partial one (not checked); IP header checksums always are.
import struct, sys

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s

def pattern(i, n):
    return bytes((i * 31 + k * 7) & 0xFF for k in range(n))

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))

def gen(out, dst, src, count, payload, v6):
    f = open(out, "wb")
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(count):
        data = pattern(i, payload)
        tcp = struct.pack("!HHIIBBHHH", 1000 + i, 5001, i * 10**6, 1, 5 << 4, 0x18, 65535, 0, 0)
        if v6:
            s6, d6 = bytes(15) + b"\1", bytes(15) + b"\2"
            ph = s6 + d6 + struct.pack("!IxxxB", len(tcp) + payload, 6)
            ip = struct.pack("!IHBB", 6 << 28, len(tcp) + payload, 6, 64) + s6 + d6
            et = 0x86DD
        else:
            s4, d4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(tcp) + payload, i, 0x4000, 64, 6, 0) + s4 + d4
            ip = ip[:10] + struct.pack("!H", 0xFFFF - csum(ip)) + ip[12:]
            ph = s4 + d4 + struct.pack("!xBH", 6, len(tcp) + payload)
            et = 0x0800
        ck = 0xFFFF - csum(ph + tcp + data)
        tcp = tcp[:16] + struct.pack("!H", ck) + tcp[18:]
        frame = mac(dst) + mac(src) + struct.pack("!H", et) + ip + tcp + data
        f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)
    f.close()

def check(path, count, payload, partial):
    raw = open(path, "rb").read()
    off, frames, total, maxlen, bad = 24, 0, 0, 0, 0
    parts = {}
    while off + 16 <= len(raw):
        _, _, incl, _ = struct.unpack("<IIII", raw[off:off + 16])
        fr = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        frames += 1
        total += len(fr)
        maxlen = max(maxlen, len(fr))
        l2 = 18 if fr[12:14] == b"\x81\x00" else 14
        et = struct.unpack("!H", fr[l2 - 2:l2])[0]
        if et == 0x0800:
            ihl = (fr[l2] & 0xF) * 4
            tot = struct.unpack("!H", fr[l2 + 2:l2 + 4])[0]
            if csum(fr[l2:l2 + ihl]) != 0xFFFF:
                bad += 1
            l4 = fr[l2 + ihl:l2 + tot]
            ph = fr[l2 + 12:l2 + 20] + struct.pack("!xBH", 6, len(l4))
        elif et == 0x86DD:
            plen = struct.unpack("!H", fr[l2 + 4:l2 + 6])[0]
            l4 = fr[l2 + 40:l2 + 40 + plen]
            ph = fr[l2 + 8:l2 + 40] + struct.pack("!IxxxB", len(l4), 6)
        else:
            bad += 1
            continue
        if not partial and csum(ph + l4) != 0xFFFF:
            bad += 1
        sport, _, seq = struct.unpack("!HHI", l4[:8])
        doff = (l4[12] >> 4) * 4
        parts.setdefault(sport, []).append((seq, l4[doff:]))
    ok = len(parts) == count
    for sport, segs in parts.items():
        i = sport - 1000
        data = b"".join(d for _, d in sorted(segs))
        if data != pattern(i, payload) or sorted(segs)[0][0] != i * 10**6:
            ok = False
    print("frames=%d bytes=%d maxlen=%d badcsum=%d payload=%s" %
          (frames, total, maxlen, bad, "ok" if ok else "bad"))

if sys.argv[1] == "gen":
    gen(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
        len(sys.argv) > 7 and sys.argv[7] == "ipv6")
else:
    check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), "--partial" in sys.argv)
