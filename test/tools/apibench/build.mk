# apibench: agent API load generator for test/bench/bench_agent.sh (attach/detach pairs/s,
# allocations for the memory figures, the fdatasync rate of the state directory's disk).
TOOLS += $(BUILD)/tools/apibench
$(BUILD)/tools/apibench: test/tools/apibench/apibench.c $(BUILD)/lib/libkbcommon.a
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(call pc,cflags,jansson) -MF $@.d $(LDFLAGS) -o $@ $< \
		$(BUILD)/lib/libkbcommon.a $(call pc,libs,jansson) -lpthread
