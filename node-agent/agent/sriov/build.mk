# SR-IOV VFs and vDPA devices: VF settings (vfnl.c) go over rtnetlink with libmnl, netdev moves
# through lib/netlink.
AGENT_PKGS += libmnl
