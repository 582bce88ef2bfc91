/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/pci.h"
#include "agent/sriov/sysfs.h"
#include "common/str.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

bool pci_addr_valid(const char *s)
{
	/* dddd:bb:dd.f */
	static const char pat[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++) {
		if (pat[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pat[i])
			return false;
	}
	return true;
}

int pci_dir(const char *root, const char *addr, char *buf, size_t size)
{
	return str_printf(buf, size, "%s/bus/pci/devices/%s", root, addr) < 0 ? -ENAMETOOLONG : 0;
}

/* "0x8086\n" -> "8086" */
static int read_id(const char *dir, const char *attr, char *buf, size_t size)
{
	char tmp[32];
	const char *s = tmp;
	int r;

	if ((r = sysfs_read(dir, attr, tmp, sizeof(tmp))) < 0)
		return r;
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2))
		s += 2;
	if (!*s || strlen(s) > 4)
		return -EINVAL;
	for (size_t i = 0; s[i]; i++) {
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		tmp[i] = tolower((unsigned char)s[i]);
	}
	tmp[strlen(s)] = '\0';
	return str_copy(buf, size, tmp) < 0 ? -EOVERFLOW : 0;
}

/* The N of the PF's virtfnN link that points at this VF. */
static int vf_index_of(const char *root, const char *pf_addr, const char *addr)
{
	char pfdir[PATH_MAX], target[PCI_ADDR_SIZE], **names = NULL;
	int idx = -1;

	if (pci_dir(root, pf_addr, pfdir, sizeof(pfdir)) < 0 ||
	        sysfs_list(pfdir, "virtfn", PCI_MAX_VFS, &names, NULL) < 0)
		return -1;
	for (char **n = names; *n && idx < 0; n++) {
		char *end;
		long i = strtol(*n + 6, &end, 10);
		if (*end || end == *n + 6 || i < 0)
			continue;
		if (sysfs_link_name(pfdir, *n, target, sizeof(target)) == 0 &&
		        !strcmp(target, addr))
			idx = i;
	}
	sysfs_names_free(names);
	return idx;
}

int pci_read(const char *root, const char *addr, struct pci_fn *ret, struct kb_err *err)
{
	char dir[PATH_MAX], group[32];
	struct pci_fn f = {.numa = -1, .iommu_group = -1, .vf_index = -1};
	long v;
	int r;

	if (!pci_addr_valid(addr))
		return kb_err_set(err, EINVAL, "'%s' is not a PCI address", addr);
	if ((r = pci_dir(root, addr, dir, sizeof(dir))) < 0)
		return kb_err_set(err, -r, "sysfs path too long");
	str_copy(f.addr, sizeof(f.addr), addr);
	if ((r = read_id(dir, "vendor", f.vendor, sizeof(f.vendor))) < 0 ||
	        (r = read_id(dir, "device", f.device, sizeof(f.device))) < 0)
		return kb_err_set(err, -r, "%s: reading vendor/device: %s", dir, strerror(-r));
	r = sysfs_link_name(dir, "driver", f.driver, sizeof(f.driver));
	if (r < 0 && r != -ENOENT)
		return kb_err_set(err, -r, "%s/driver: %s", dir, strerror(-r));
	if (sysfs_read_int(dir, "numa_node", &v) == 0 && v >= 0 && v < 1024)
		f.numa = v;
	if (sysfs_link_name(dir, "iommu_group", group, sizeof(group)) == 0 &&
	        str_to_u64(group, 0, INT_MAX, &(uint64_t){0}) == 0)
		f.iommu_group = atoi(group);
	if (sysfs_link_name(dir, "physfn", f.pf_addr, sizeof(f.pf_addr)) == 0) {
		if (!pci_addr_valid(f.pf_addr))
			return kb_err_set(err, EINVAL, "%s/physfn: bad PF address", dir);
		f.vf_index = vf_index_of(root, f.pf_addr, addr);
	} else {
		f.pf_addr[0] = '\0';
	}
	*ret = f;
	return 0;
}

int pci_list_pfs(const char *root, char ***ret, size_t *ret_n, struct kb_err *err)
{
	char dir[PATH_MAX], **names = NULL, **out;
	size_t n = 0, k = 0;
	int r;

	if (str_printf(dir, sizeof(dir), "%s/bus/pci/devices", root) < 0)
		return kb_err_set(err, ENAMETOOLONG, "sysfs path too long");
	if ((r = sysfs_list(dir, NULL, 65536, &names, &n)) < 0) {
		if (r == -ENOENT) { /* no PCI bus (a fixture without one): nothing to find */
			*ret = calloc(1, sizeof(char *));
			*ret_n = 0;
			return *ret ? 0 : kb_err_set(err, ENOMEM, "out of memory");
		}
		return kb_err_set(err, -r, "listing %s: %s", dir, strerror(-r));
	}
	if (!(out = calloc(n + 1, sizeof(*out)))) {
		sysfs_names_free(names);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		char fdir[PATH_MAX];
		if (!pci_addr_valid(names[i]) || pci_dir(root, names[i], fdir, sizeof(fdir)) < 0 ||
		        !sysfs_exists(fdir, "sriov_totalvfs"))
			continue;
		if (!(out[k++] = strdup(names[i]))) {
			sysfs_names_free(names);
			sysfs_names_free(out);
			return kb_err_set(err, ENOMEM, "out of memory");
		}
	}
	sysfs_names_free(names);
	*ret = out;
	*ret_n = k;
	return 0;
}

static int vf_ref_cmp(const void *a, const void *b)
{
	const struct pci_vf_ref *x = a, *y = b;
	return (x->index > y->index) - (x->index < y->index);
}

int pci_list_vfs(const char *root, const char *pf_addr, struct pci_vf_ref **ret, size_t *ret_n,
        struct kb_err *err)
{
	char dir[PATH_MAX], **names = NULL;
	struct pci_vf_ref *v = NULL;
	size_t n = 0, k = 0;
	int r;

	if (pci_dir(root, pf_addr, dir, sizeof(dir)) < 0)
		return kb_err_set(err, ENAMETOOLONG, "sysfs path too long");
	if ((r = sysfs_list(dir, "virtfn", PCI_MAX_VFS, &names, &n)) < 0)
		return kb_err_set(err, -r, "listing VFs of %s: %s", pf_addr, strerror(-r));
	if (n && !(v = calloc(n, sizeof(*v)))) {
		sysfs_names_free(names);
		return kb_err_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		char *end;
		long idx = strtol(names[i] + 6, &end, 10);
		if (*end || end == names[i] + 6 || idx < 0 || idx >= PCI_MAX_VFS)
			continue;
		if (sysfs_link_name(dir, names[i], v[k].addr, sizeof(v[k].addr)) < 0 ||
		        !pci_addr_valid(v[k].addr))
			continue;
		v[k++].index = idx;
	}
	sysfs_names_free(names);
	qsort(v, k, sizeof(*v), vf_ref_cmp);
	*ret = v;
	*ret_n = k;
	return 0;
}

int pci_netdevs(const char *dir, char names[][IFNAMSIZ], size_t max)
{
	char net[PATH_MAX], **v = NULL;
	size_t n = 0, k = 0;

	if (str_printf(net, sizeof(net), "%s/net", dir) < 0 ||
	        sysfs_list(net, NULL, 64, &v, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && k < max; i++)
		if (str_copy(names[k], IFNAMSIZ, v[i]) == 0)
			k++;
	sysfs_names_free(v);
	return k;
}

int pci_link_type(const char *dir, const char *ifname, char *buf, size_t size)
{
	char ndir[PATH_MAX];
	long t;
	int r;

	if (str_printf(ndir, sizeof(ndir), "%s/net/%s", dir, ifname) < 0)
		return -ENAMETOOLONG;
	if ((r = sysfs_read_int(ndir, "type", &t)) < 0)
		return r;
	switch (t) {
	case 1: /* ARPHRD_ETHER */
		return str_copy(buf, size, "ether");
	case 32: /* ARPHRD_INFINIBAND */
		return str_copy(buf, size, "infiniband");
	default:
		return str_printf(buf, size, "%ld", t) < 0 ? -EOVERFLOW : 0;
	}
}

int pci_uio_name(const char *dir, char *buf, size_t size)
{
	char udir[PATH_MAX], **v = NULL;
	int r;

	if (str_printf(udir, sizeof(udir), "%s/uio", dir) < 0)
		return -ENAMETOOLONG;
	if ((r = sysfs_list(udir, "uio", 4, &v, NULL)) < 0)
		return r;
	r = v[0] ? str_copy(buf, size, v[0]) : -ENOENT;
	sysfs_names_free(v);
	return r;
}
