#!/usr/bin/python3
# Write crafted Ethernet frames to a pcap file, for a testpmd pod that replays them into its
# virtio-user port (net_pcap rx_pcap= + io forwarding): mkpcap.py OUT SPEC... where SPEC is
# DST,SRC,TAGS,COUNT[,LEN]: TAGS is "-" (untagged) or tags outermost first, "/"-separated,
# each TPID:VID:PCP in hex:decimal:decimal (e.g. 8100:0:6 or 88a8:300:0/8100:100:0). LEN is the
# frame length without CRC (default 60). Payload: ethertype 0x88B5 and a frame counter.
import struct, sys

def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))

out = open(sys.argv[1], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
n = 0
for spec in sys.argv[2:]:
    f = spec.split(",")
    if len(f) not in (4, 5):
        sys.exit(f"bad spec {spec!r}: DST,SRC,TAGS,COUNT[,LEN]")
    dst, src, tags, count = f[0], f[1], f[2], int(f[3])
    length = int(f[4]) if len(f) > 4 else 60
    hdr = mac(dst) + mac(src)
    if tags != "-":
        for t in tags.split("/"):
            tpid, vid, pcp = t.split(":")
            vid, pcp = int(vid), int(pcp)
            if not (0 <= vid <= 4095 and 0 <= pcp <= 7):
                sys.exit(f"bad tag {t!r}")
            hdr += struct.pack("!HH", int(tpid, 16), pcp << 13 | vid)
    hdr += struct.pack("!H", 0x88B5)
    for i in range(count):
        body = struct.pack("!I", n)
        frame = hdr + body + b"\0" * max(0, length - len(hdr) - len(body))
        out.write(struct.pack("<IIII", 0, n, len(frame), len(frame)) + frame)
        n += 1
out.close()
