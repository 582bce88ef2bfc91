/* SPDX-License-Identifier: Apache-2.0 */
/* Ethernet MAC addresses. */
#ifndef KB_MAC_H
#define KB_MAC_H

#include <stdbool.h>
#include <stdint.h>

#define MAC_STR_LEN 18 /* "aa:bb:cc:dd:ee:ff" + NUL */

struct mac {
	uint8_t b[6];
};

/* Accepts "aa:bb:cc:dd:ee:ff" (either case); -EINVAL otherwise. */
int mac_parse(const char *s, struct mac *ret);
void mac_format(const struct mac *m, char buf[MAC_STR_LEN]);
bool mac_is_zero(const struct mac *m);
bool mac_is_multicast(const struct mac *m);
/* A locally administered unicast MAC derived from a stable string (same input, same MAC). */
void mac_from_name(const char *name, struct mac *ret);

#endif
