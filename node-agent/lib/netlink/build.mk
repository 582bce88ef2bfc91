# lib/netlink: rtnetlink sockets, links, addresses, routes and namespaces over libmnl, shared by
# the agent (SR-IOV/vDPA netdev moves, VF settings) and the CNI (pod-side IP configuration).
# Nothing heavier than libmnl: the CNI links it and its start-up time is part of every ADD.
AGENT_PKGS += libmnl
CNI_PKGS += libmnl
