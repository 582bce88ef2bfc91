/* The embedded default configuration, as a NUL-terminated string. */
	.section .rodata
	.global cfg_default_yaml
	.type cfg_default_yaml, @object
cfg_default_yaml:
	.incbin DEFAULT_YAML
	.byte 0
	.size cfg_default_yaml, . - cfg_default_yaml
	.section .note.GNU-stack, "", @progbits
