# kbnet-cni: jansson (Makefile default) + libmnl through lib/netlink (its build.mk adds it) for
# the pod-side IP configuration (ifcfg.c). Deliberately nothing heavier (no DPDK, no libcurl,
# no libevent): the plugin's start-up time is part of every ADD.
