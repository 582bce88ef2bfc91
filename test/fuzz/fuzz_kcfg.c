/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A kubeconfig (agent/kube/kcfg.c): YAML, contexts, clusters, users, base64 *-data fields,
 * and what a loaded one sets on a curl handle. Input: "<context>\n<kubeconfig>" (an empty
 * context means current-context). The file is written to a temporary directory; relative
 * paths in it resolve there.
 */
#include "fuzz.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include "agent/kube/kcfg.h"
#include "common/log.h"

static char dir[64], path[128];

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc;
	(void)argv;
	log_set_level(LOG_LVL_ERR);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(dir, sizeof(dir), "%s/kbnet-fuzz-kcfg.XXXXXX", tmp);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/kubeconfig", dir);
	atexit(remove_dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kb_err err = {0};
	struct kcfg *c = NULL;
	char *context;
	int fd;

	if (size > 64 * 1024)
		return 0;
	context = fuzz_next_line(&data, &size);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (kcfg_from_kubeconfig(path, context, &c, &err) == 0) {
		CURL *easy = curl_easy_init();
		struct curl_slist *headers = NULL;
		if (!kcfg_server(c) || !kcfg_token_source(c))
			abort();
		if (easy) {
			kcfg_apply(c, easy, &headers, &err);
			curl_slist_free_all(headers);
			curl_easy_cleanup(easy);
		}
		kcfg_free(c);
	}
	free(context);
	return 0;
}
