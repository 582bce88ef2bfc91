/* SPDX-License-Identifier: Apache-2.0 */
#include "agent/sriov/vfconf.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static const char *const config_keys[] = {"vlanQoS", "vlanProto", "spoofchk", "trust", "link_state",
        "min_tx_rate", "max_tx_rate", NULL};

const char *vfconf_link_state_name(uint32_t s)
{
	switch (s) {
	case VF_LINK_AUTO:
		return "auto";
	case VF_LINK_ENABLE:
		return "enable";
	case VF_LINK_DISABLE:
		return "disable";
	}
	return "?";
}

const char *vfconf_proto_name(uint16_t proto)
{
	return proto == VF_PROTO_8021AD ? "802.1ad" : "802.1q";
}

static int parse_proto(const char *s, uint16_t *ret)
{
	if (!strcasecmp(s, "802.1q"))
		*ret = VF_PROTO_8021Q;
	else if (!strcasecmp(s, "802.1ad"))
		*ret = VF_PROTO_8021AD;
	else
		return -EINVAL;
	return 0;
}

static int parse_link_state(const char *s, uint32_t *ret)
{
	if (!strcmp(s, "auto"))
		*ret = VF_LINK_AUTO;
	else if (!strcmp(s, "enable"))
		*ret = VF_LINK_ENABLE;
	else if (!strcmp(s, "disable"))
		*ret = VF_LINK_DISABLE;
	else
		return -EINVAL;
	return 0;
}

static int parse_on_off(json_t *v, const char *key, bool *ret, struct kb_err *err)
{
	const char *s = json_string_value(v);

	if (s && !strcmp(s, "on"))
		*ret = true;
	else if (s && !strcmp(s, "off"))
		*ret = false;
	else
		return kb_err_set(err, EINVAL, "config.%s must be \"on\" or \"off\"", key);
	return 0;
}

static int parse_uint(json_t *v, const char *key, uint32_t max, uint32_t *ret, struct kb_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return kb_err_set(err, EINVAL, "config.%s must be an integer in [0, %u]", key, max);
	*ret = json_integer_value(v);
	return 0;
}

int vfconf_parse(json_t *config, const struct mac *mac, int vlan, struct vf_state *ret,
        unsigned *ret_rate_given, struct kb_err *err)
{
	struct vf_state st = {0};
	json_t *qos, *proto, *v;
	unsigned rate_given = 0;
	const char *key;
	int r;

	if (config && !json_is_object(config))
		return kb_err_set(err, EINVAL, "'config' must be an object");
	json_object_foreach (config, key, v) {
		bool known = false;
		for (size_t i = 0; config_keys[i] && !known; i++)
			known = !strcmp(config_keys[i], key);
		if (!known)
			return kb_err_set(err, EINVAL,
			        "config.%s: unknown VF setting (known: vlanQoS, vlanProto, "
			        "spoofchk, "
			        "trust, link_state, min_tx_rate, max_tx_rate)",
			        key);
	}
	if (mac) {
		if (mac_is_zero(mac) || mac_is_multicast(mac))
			return kb_err_set(err, EINVAL, "mac must be a unicast address");
		st.mac = *mac;
		st.mask |= VF_BIT(VF_ATTR_MAC);
	}
	qos = json_object_get(config, "vlanQoS");
	proto = json_object_get(config, "vlanProto");
	if (vlan >= 0) {
		if (vlan > VF_VLAN_MAX)
			return kb_err_set(err, EINVAL, "vlan must be in [0, %d]", VF_VLAN_MAX);
		st.vlan = vlan;
		st.proto = VF_PROTO_8021Q;
		st.mask |= VF_BIT(VF_ATTR_VLAN);
		if (qos && (r = parse_uint(qos, "vlanQoS", VF_QOS_MAX, &st.qos, err)) < 0)
			return r;
		if (proto && (!json_is_string(proto) ||
		                     parse_proto(json_string_value(proto), &st.proto) < 0))
			return kb_err_set(
			        err, EINVAL, "config.vlanProto must be \"802.1q\" or \"802.1ad\"");
		if (vlan == 0 && st.qos)
			return kb_err_set(err, EINVAL, "a non-zero vlanQoS needs a non-zero vlan");
		if (vlan == 0 && st.proto == VF_PROTO_8021AD)
			return kb_err_set(err, EINVAL, "vlanProto 802.1ad needs a non-zero vlan");
	} else if (qos || proto) {
		return kb_err_set(
		        err, EINVAL, "config.%s needs a vlan", qos ? "vlanQoS" : "vlanProto");
	}
	if ((v = json_object_get(config, "spoofchk"))) {
		if ((r = parse_on_off(v, "spoofchk", &st.spoofchk, err)) < 0)
			return r;
		st.mask |= VF_BIT(VF_ATTR_SPOOFCHK);
	}
	if ((v = json_object_get(config, "trust"))) {
		if ((r = parse_on_off(v, "trust", &st.trust, err)) < 0)
			return r;
		st.mask |= VF_BIT(VF_ATTR_TRUST);
	}
	if ((v = json_object_get(config, "link_state"))) {
		if (!json_is_string(v) ||
		        parse_link_state(json_string_value(v), &st.link_state) < 0)
			return kb_err_set(err, EINVAL,
			        "config.link_state must be \"auto\", \"enable\" or \"disable\"");
		st.mask |= VF_BIT(VF_ATTR_LINK_STATE);
	}
	if ((v = json_object_get(config, "min_tx_rate"))) {
		if ((r = parse_uint(v, "min_tx_rate", VFCONF_RATE_MAX, &st.min_tx_rate, err)) < 0)
			return r;
		rate_given |= 1;
	}
	if ((v = json_object_get(config, "max_tx_rate"))) {
		if ((r = parse_uint(v, "max_tx_rate", VFCONF_RATE_MAX, &st.max_tx_rate, err)) < 0)
			return r;
		rate_given |= 2;
	}
	if (rate_given == 3 && st.max_tx_rate && st.min_tx_rate > st.max_tx_rate)
		return kb_err_set(err, EINVAL, "min_tx_rate (%u) exceeds max_tx_rate (%u)",
		        st.min_tx_rate, st.max_tx_rate);
	if (rate_given)
		st.mask |= VF_BIT(VF_ATTR_RATE);
	*ret = st;
	if (ret_rate_given)
		*ret_rate_given = rate_given;
	return 0;
}

json_t *vfconf_to_json(const struct vf_state *st)
{
	json_t *o = json_object();
	char mac[MAC_STR_LEN];

	if (!o)
		return NULL;
	if (st->mask & VF_BIT(VF_ATTR_MAC)) {
		mac_format(&st->mac, mac);
		json_object_set_new(o, "mac", json_string(mac));
	}
	if (st->mask & VF_BIT(VF_ATTR_VLAN)) {
		json_object_set_new(o, "vlan", json_integer(st->vlan));
		json_object_set_new(o, "vlanQoS", json_integer(st->qos));
		json_object_set_new(o, "vlanProto", json_string(vfconf_proto_name(st->proto)));
	}
	if (st->mask & VF_BIT(VF_ATTR_SPOOFCHK))
		json_object_set_new(o, "spoofchk", json_string(st->spoofchk ? "on" : "off"));
	if (st->mask & VF_BIT(VF_ATTR_TRUST))
		json_object_set_new(o, "trust", json_string(st->trust ? "on" : "off"));
	if (st->mask & VF_BIT(VF_ATTR_LINK_STATE))
		json_object_set_new(
		        o, "link_state", json_string(vfconf_link_state_name(st->link_state)));
	if (st->mask & VF_BIT(VF_ATTR_RATE)) {
		json_object_set_new(o, "min_tx_rate", json_integer(st->min_tx_rate));
		json_object_set_new(o, "max_tx_rate", json_integer(st->max_tx_rate));
	}
	return o;
}

int vfconf_from_json(json_t *obj, struct vf_state *ret, struct kb_err *err)
{
	struct vf_state st = {0};
	const char *s;
	json_t *v;
	int r;

	if (!json_is_object(obj))
		return kb_err_set(err, EINVAL, "VF settings must be an object");
	if ((v = json_object_get(obj, "mac"))) {
		if (!(s = json_string_value(v)) || mac_parse(s, &st.mac) < 0)
			return kb_err_set(err, EINVAL, "bad VF mac");
		st.mask |= VF_BIT(VF_ATTR_MAC);
	}
	if ((v = json_object_get(obj, "vlan"))) {
		s = json_string_value(json_object_get(obj, "vlanProto"));
		if ((r = parse_uint(v, "vlan", 4095, &st.vlan, err)) < 0 ||
		        (r = parse_uint(json_object_get(obj, "vlanQoS"), "vlanQoS", VF_QOS_MAX,
		                 &st.qos, err)) < 0)
			return r;
		if (!s || parse_proto(s, &st.proto) < 0)
			return kb_err_set(err, EINVAL, "bad VF vlanProto");
		st.mask |= VF_BIT(VF_ATTR_VLAN);
	}
	if ((v = json_object_get(obj, "spoofchk"))) {
		if ((r = parse_on_off(v, "spoofchk", &st.spoofchk, err)) < 0)
			return r;
		st.mask |= VF_BIT(VF_ATTR_SPOOFCHK);
	}
	if ((v = json_object_get(obj, "trust"))) {
		if ((r = parse_on_off(v, "trust", &st.trust, err)) < 0)
			return r;
		st.mask |= VF_BIT(VF_ATTR_TRUST);
	}
	if ((v = json_object_get(obj, "link_state"))) {
		if (!(s = json_string_value(v)) || parse_link_state(s, &st.link_state) < 0)
			return kb_err_set(err, EINVAL, "bad VF link_state");
		st.mask |= VF_BIT(VF_ATTR_LINK_STATE);
	}
	if ((v = json_object_get(obj, "min_tx_rate"))) {
		if ((r = parse_uint(v, "min_tx_rate", UINT32_MAX, &st.min_tx_rate, err)) < 0 ||
		        (r = parse_uint(json_object_get(obj, "max_tx_rate"), "max_tx_rate",
		                 UINT32_MAX, &st.max_tx_rate, err)) < 0)
			return r;
		st.mask |= VF_BIT(VF_ATTR_RATE);
	}
	*ret = st;
	return 0;
}
