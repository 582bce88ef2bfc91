/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The metrics server's request-head parser (agent/metrics/httpd.c `httpd_parse`), called
 * directly: the metrics target drives the same parser through a real connection, which costs
 * a TCP connection and several event-loop turns per input; this one reaches it at memory
 * speed. Input: the bytes a client sends, of which the server parses at most max_header + 1
 * (what on_read pulls up). Besides memory safety, the answer must be one the server can act
 * on and must not depend on what follows the head or on how the bytes arrived:
 *   - 0 (incomplete), the head's length, or -400/-405/-414/-505;
 *   - a head's length: parsing exactly the head gives the same request, one byte less is
 *     incomplete, and the path is a '/'-rooted prefix of the request target without query,
 *     fragment, controls or spaces;
 *   - incomplete: every prefix is incomplete too (on_read parses each time bytes arrive).
 */
#include "fuzz.h"

#include "agent/metrics/httpd.h"

#define MAX_HEADER 8192 /* metrics.c's limit */

static bool same(const struct httpd_req *a, const struct httpd_req *b)
{
	return a->head == b->head && strcmp(a->path, b->path) == 0;
}

/* Where the head ends (through the empty line: "\n\n" or "\n\r\n"), 0 when it does not. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_req req, again;
	size_t len = size < MAX_HEADER + 1 ? size : MAX_HEADER + 1, hlen;
	char *buf;
	int r;

	/* In a buffer of exactly len bytes: any read past it is caught. */
	buf = malloc(len ? len : 1);
	if (!buf)
		abort();
	memcpy(buf, data, len);
	memset(&req, 0xa5, sizeof(req));
	r = httpd_parse(buf, len, &req);
	hlen = head_end(buf, len);
	if (r != 0 && r != -400 && r != -405 && r != -414 && r != -505 &&
	        (r < 0 || (size_t)r != hlen))
		abort();
	if (r == 0) {
		if (hlen)
			abort(); /* a complete head left waiting for more */
		/* Arriving byte by byte (the slowest peer) never completes earlier. */
		for (size_t i = 0; i < len && i < 64; i++)
			if (httpd_parse(buf, i, &again) != 0)
				abort();
		free(buf);
		return 0;
	}
	/* Decided on the head alone: the same answer without what follows it... */
	if (!hlen || httpd_parse(buf, hlen, &again) != r || (r > 0 && !same(&req, &again)))
		abort();
	/* ...and nothing before it is complete. */
	if (httpd_parse(buf, hlen - 1, &again) != 0)
		abort();
	if (r > 0) {
		size_t plen = strnlen(req.path, sizeof(req.path));
		const char *target = memchr(buf, ' ', hlen);

		if (plen == sizeof(req.path) || req.path[0] != '/')
			abort();
		for (size_t i = 0; i < plen; i++)
			if (req.path[i] <= 0x20 || req.path[i] >= 0x7f || req.path[i] == '?' ||
			        req.path[i] == '#')
				abort();
		/* The path starts the target, right after the method (GET or HEAD) and a space. */
		if (!target || memcmp(target + 1, req.path, plen) != 0 ||
		        (req.head ? memcmp(buf, "HEAD ", 5) : memcmp(buf, "GET ", 4)) != 0)
			abort();
	}
	free(buf);
	return 0;
}
