# kbnet-cni: jansson (Makefile default) + libmnl for the pod-side IP configuration (ifcfg.c).
# Deliberately nothing heavier (no DPDK): the plugin's start-up time is part of every ADD.
CNI_PKGS += libmnl
