# kbcall: one raw agent API request from the shell (tests).
TOOLS += $(BUILD)/tools/kbcall
$(BUILD)/tools/kbcall: test/tools/kbcall/kbcall.c $(BUILD)/lib/libkbcommon.a
	$(msg) LINK $@
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -MF $@.d $(LDFLAGS) -o $@ $< $(BUILD)/lib/libkbcommon.a \
		$(call pc,libs,jansson)
