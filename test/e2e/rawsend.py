#!/usr/bin/python3
# Send COUNT Ethernet frames on IFACE through an AF_PACKET socket (the uplink peer in the
# e2e suites): rawsend.py IFACE DST SRC VLAN|-1 COUNT [LEN [udp]]. LEN excludes the CRC.
# VLAN is the whole TCI (PCP << 13 | VID). Frames carry ethertype 0x88B5 and a counter, or
# with "udp" IPv4/UDP with a different source port each (so that receive hashing spreads them).
import socket, struct, sys, time

iface, dst, src, vlan, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
length = int(sys.argv[6]) if len(sys.argv) > 6 else 60
udp = len(sys.argv) > 7 and sys.argv[7] == "udp"
mac = lambda s: bytes(int(x, 16) for x in s.split(":"))
hdr = mac(dst) + mac(src)
if vlan >= 0:
    hdr += struct.pack("!HH", 0x8100, vlan)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for i in range(count):
    if udp:
        plen = max(28, length - len(hdr) - 2)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, plen, i & 0xFFFF, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        body = ip + struct.pack("!HHHH", 1024 + i % 60000, 9, plen - 20, 0)
        frame = hdr + struct.pack("!H", 0x0800) + body
    else:
        # local experimental ethertype: no stack reacts to it
        frame = hdr + struct.pack("!H", 0x88B5) + struct.pack("!I", i)
    s.send(frame + b"\0" * max(0, length - len(frame)))
    if i % 32 == 31:
        time.sleep(0.002)  # let the switch's 512-frame af_packet ring drain
s.close()
