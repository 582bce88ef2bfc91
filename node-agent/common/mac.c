/* SPDX-License-Identifier: Apache-2.0 */
#include "common/mac.h"
#include "common/hmap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int mac_parse(const char *s, struct mac *ret)
{
	unsigned v[6];
	char tail;

	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
			return -EINVAL;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	            &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		ret->b[i] = v[i];
	return 0;
}

void mac_format(const struct mac *m, char buf[MAC_STR_LEN])
{
	snprintf(buf, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", m->b[0], m->b[1], m->b[2],
	        m->b[3], m->b[4], m->b[5]);
}

bool mac_is_zero(const struct mac *m)
{
	static const struct mac zero;
	return memcmp(m, &zero, sizeof(zero)) == 0;
}

bool mac_is_multicast(const struct mac *m)
{
	return m->b[0] & 1;
}

void mac_from_name(const char *name, struct mac *ret)
{
	uint32_t h1 = hash_str(name, 0x6b626e65), h2 = hash_str(name, h1);

	ret->b[0] = 0x02; /* locally administered, unicast */
	ret->b[1] = h1 >> 24;
	ret->b[2] = h1 >> 16;
	ret->b[3] = h1 >> 8;
	ret->b[4] = h1;
	ret->b[5] = h2;
}
