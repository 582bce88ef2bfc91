# cnibench: CNI ADD/DEL latency of several plugins in one run (test/bench/bench_cni.sh).
TOOLS += $(BUILD)/tools/cnibench
$(BUILD)/tools/cnibench: test/tools/cnibench/cnibench.c
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $<
