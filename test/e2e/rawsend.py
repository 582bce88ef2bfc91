#!/usr/bin/python3
# Send COUNT Ethernet frames on IFACE through an AF_PACKET socket (the uplink peer in the
# e2e suites): rawsend.py IFACE DST SRC VLAN|-1 COUNT [LEN]. LEN excludes the CRC.
import socket, struct, sys, time

iface, dst, src, vlan, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
length = int(sys.argv[6]) if len(sys.argv) > 6 else 60
mac = lambda s: bytes(int(x, 16) for x in s.split(":"))
hdr = mac(dst) + mac(src)
if vlan >= 0:
    hdr += struct.pack("!HH", 0x8100, vlan)
hdr += struct.pack("!H", 0x88B5)  # local experimental ethertype: no stack reacts to it
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
for i in range(count):
    body = struct.pack("!I", i)
    s.send(hdr + body + b"\0" * max(0, length - len(hdr) - len(body)))
    if i % 32 == 31:
        time.sleep(0.002)  # let the switch's 512-frame af_packet ring drain
s.close()
