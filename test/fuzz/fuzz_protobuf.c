/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protobuf-c messages the agent decodes or encodes (node-agent/proto: device plugin and
 * pod-resources API). Input: one byte choosing the message type, then its wire bytes. A
 * decoded message must pack again; what decodes again must pack the same way.
 */
#include "fuzz.h"

#include "deviceplugin_v1beta1.pb-c.h"
#include "podresources_v1.pb-c.h"

static const ProtobufCMessageDescriptor *const descs[] = {
        &v1beta1__device_plugin_options__descriptor,
        &v1beta1__register_request__descriptor,
        &v1beta1__empty__descriptor,
        &v1beta1__list_and_watch_response__descriptor,
        &v1beta1__device__descriptor,
        &v1beta1__pre_start_container_request__descriptor,
        &v1beta1__preferred_allocation_request__descriptor,
        &v1beta1__preferred_allocation_response__descriptor,
        &v1beta1__allocate_request__descriptor,
        &v1beta1__allocate_response__descriptor,
        &v1beta1__container_allocate_response__descriptor,
        &v1__list_pod_resources_request__descriptor,
        &v1__list_pod_resources_response__descriptor,
        &v1__pod_resources__descriptor,
        &v1__container_devices__descriptor,
};

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	if (!(buf = malloc(*len ? *len : 1)))
		abort();
	if (protobuf_c_message_pack(m, buf) != *len)
		abort();
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m, *m2;
	uint8_t *b1, *b2;
	size_t l1, l2;

	if (size < 1)
		return 0;
	d = descs[data[0] % (sizeof(descs) / sizeof(descs[0]))];
	if (!(m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1)))
		return 0;
	if (!protobuf_c_message_check(m))
		abort();
	b1 = pack(m, &l1);
	/* libprotobuf-c 1.4 takes field number 0 in a tag of more than one byte (0x85 0x00)
	 * as an unknown field and packs it back as a one-byte tag that it then refuses: the
	 * agent never re-packs what it decoded, so only what does decode again is compared. */
	if (!(m2 = protobuf_c_message_unpack(d, NULL, l1, b1))) {
		free(b1);
		protobuf_c_message_free_unpacked(m, NULL);
		return 0;
	}
	b2 = pack(m2, &l2);
	if (l1 != l2 || memcmp(b1, b2, l1)) {
		fprintf(stderr, "%s: packing is not stable\n", d->name);
		abort();
	}
	free(b1);
	free(b2);
	protobuf_c_message_free_unpacked(m2, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
