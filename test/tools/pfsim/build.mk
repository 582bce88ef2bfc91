# pfsim: a stand-in for SR-IOV PF drivers that answers VF netlink requests (tests only).
TOOLS += $(BUILD)/tools/pfsim
$(BUILD)/tools/pfsim: test/tools/pfsim/pfsim.c
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(call pc,cflags,libmnl jansson) \
		$(call pc,libs,libmnl jansson)
