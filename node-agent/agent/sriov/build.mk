# SR-IOV VFs and vDPA devices: VF settings and netdev moves go over rtnetlink with libmnl.
AGENT_PKGS += libmnl
