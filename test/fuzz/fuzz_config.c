/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's YAML configuration (agent/config.c) with every registered section parser (pools,
 * fastpath, devicePlugin, kube, metrics, sriov, ...). Input: the file's text.
 */
#include "fuzz.h"

#include "agent/config.h"
#include "common/log.h"

#define FUZZ_MAX_INPUT (64 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kb_err err = {0};
	struct cfg *cfg = NULL;
	char *text;

	if (size > FUZZ_MAX_INPUT)
		return 0;
	text = fuzz_strndup(data, size);
	if (cfg_load_string(text, "fuzz.yaml", &cfg, &err) == 0) {
		const struct cfg_core *core = cfg_core(cfg);
		if (!core || !cfg_source(cfg))
			abort();
		cfg_free(cfg);
	} else if (!err.msg[0]) {
		fprintf(stderr, "config refused without a message\n");
		abort();
	}
	free(text);
	return 0;
}
