/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CNI spec versions, the ADD result and the error result (SPEC.md 0.3.0 .. 1.1.0).
 * A result is held in one version-neutral struct: parsed from any supported version, printed in
 * any supported version (0.3.x/0.4.0 tag ips with "version"; 1.1.0 adds interface mtu,
 * socketPath, pciID and route mtu/advmss/priority/table/scope).
 */
#ifndef KB_CNI_RESULT_H
#define KB_CNI_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum cni_version {
	CNI_V_NONE = 0, /* missing or not one we speak */
	CNI_V_0_3_0,
	CNI_V_0_3_1,
	CNI_V_0_4_0,
	CNI_V_1_0_0,
	CNI_V_1_1_0,
};
#define CNI_V_LATEST CNI_V_1_1_0

/* "0.4.0" -> CNI_V_0_4_0; CNI_V_NONE for NULL or any version kbnet does not speak. */
enum cni_version cni_version_parse(const char *s);
/* "1.1.0"; NULL for CNI_V_NONE. */
const char *cni_version_str(enum cni_version v);
/* The VERSION command's reply. */
json_t *cni_version_info(void);

/* Error codes: 0-99 are the spec's, 100+ are kbnet's (cni-plugin/README.md). */
enum {
	CNI_ERR_INCOMPATIBLE = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED = 51,
	KB_CNI_ERR_POOL_EXHAUSTED = 100,
	KB_CNI_ERR_DEVICE_BUSY = 101,
	KB_CNI_ERR_ATTACHMENT_EXISTS = 102,
	KB_CNI_ERR_CHECK_FAILED = 103,
	KB_CNI_ERR_ADDRS_EXHAUSTED = 104, /* agent IPAM: a range set has no free address */
	KB_CNI_ERR_ADDR_IN_USE = 105,     /* agent IPAM: a requested address is held */
	CNI_ERR_INTERNAL = 999,
};

/* A CNI error on its way out: the code, "msg" (in e.msg) and optional "details". */
struct cni_err {
	int code;
	struct kb_err e;
	char details[1024];
};

/* Sets code, errno and msg (details cleared); returns -errnum. */
int cni_err_set(struct cni_err *ce, int code, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void cni_err_details(struct cni_err *ce, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Prefix msg with "ctx: "; returns -errnum. */
int cni_err_prefix(struct cni_err *ce, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* {"cniVersion", "code", "msg", "details"}; version CNI_V_NONE prints the latest. */
json_t *cni_err_to_json(const struct cni_err *ce, enum cni_version v);

#define CNI_RESULT_MAX_IFACES 64
#define CNI_RESULT_MAX_IPS    128
#define CNI_RESULT_MAX_ROUTES 1024

struct cni_iface {
	char *name;
	char *mac;         /* NULL: not set */
	char *sandbox;     /* NULL: not set; "" is a host interface */
	char *socket_path; /* 1.1.0 */
	char *pci_id;      /* 1.1.0 */
	unsigned mtu;      /* 1.1.0; 0: not set */
};

struct cni_ip {
	int family; /* AF_INET or AF_INET6, from the address */
	char address[64];
	char gateway[48]; /* "" when not set */
	int interface;    /* index into interfaces, -1 when not set */
};

/* The numeric route fields are -1 when not set. */
struct cni_route {
	int family;
	char dst[64];
	char gw[48];
	int64_t mtu, advmss, priority, table, scope;
};

struct cni_result {
	struct cni_iface *ifaces;
	size_t n_ifaces;
	struct cni_ip *ips;
	size_t n_ips;
	struct cni_route *routes;
	size_t n_routes;
	json_t *dns; /* validated object, NULL when absent */
};

/*
 * Parse a result object. Its "cniVersion" must be a supported version; when missing, `dflt` is
 * assumed (CNI_V_NONE: missing is an error). Every field is type- and syntax-checked; errors
 * are CNI_ERR_DECODE (or CNI_ERR_INCOMPATIBLE for the version) naming the field.
 */
int cni_result_parse(
        json_t *obj, enum cni_version dflt, struct cni_result **ret, struct cni_err *ce);
/* The result in version v's format; NULL on allocation failure. */
json_t *cni_result_to_json(const struct cni_result *r, enum cni_version v);
struct cni_result *cni_result_new(void);
struct cni_result *cni_result_dup(const struct cni_result *r);
void cni_result_free(struct cni_result *r);

/* Append an interface (strings copied, NULL skipped); returns its index or -errno. */
int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
        const char *sandbox, unsigned mtu, const char *socket_path, const char *pci_id);
/* Append src's ips (pointing at interface `iface`), routes and DNS to dst. */
int cni_result_merge_ipam(struct cni_result *dst, const struct cni_result *src, int iface);
/* Index of the interface named `name` in sandbox `sandbox` (NULL: any), or -1. */
int cni_result_find_iface(const struct cni_result *r, const char *name, const char *sandbox);

/* Parse "a.b.c.d/n" or "x::y/n": family, address and prefix length. */
int cni_parse_cidr(const char *s, int *family, void *addr, unsigned *prefixlen);
/* Parse a bare IP address: family and address. */
int cni_parse_ip(const char *s, int *family, void *addr);

#endif
