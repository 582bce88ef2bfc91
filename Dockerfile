# syntax=docker/dockerfile:1
# kbnet node image: kbnet-agent, agentctl and kbnet-cni on Debian 12 (bookworm).
#
#   podman build -t kbnet/kbnet:0.1.0 .        (or: docker build / buildah bud)
#
# BASE is any Debian 12 image; test/integration/deploy_image.sh builds from a local base made
# with debootstrap (no registry needed). The entrypoint installs kbnet-cni into the host's CNI
# bin dir (atomically) and runs the agent: see deploy/image/entrypoint.sh.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive
# hack/deps.txt from "# build" to "# run and test": the packages CI builds with, in one place.
COPY hack/deps.txt /tmp/deps.txt
RUN apt-get update \
 && sed -n '/^# build$/,/^# run and test$/{/^#/d;/^$/d;p}' /tmp/deps.txt \
    | xargs apt-get install -y -q --no-install-recommends \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make -j"$(nproc)" all BUILD=/build \
 && make install BUILD=/build PREFIX=/usr DESTDIR=/out \
 && install -m 0755 deploy/image/entrypoint.sh /out/usr/bin/kbnet-entrypoint \
 && deploy/image/runtime-packages.sh /out/usr/bin/kbnet-agent /out/usr/bin/agentctl \
    /out/usr/bin/kbnet-cni > /out/runtime-packages

# Runtime: only the packages whose shared libraries the binaries load (computed above with
# ldd and dpkg -S), no compiler, no headers.
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && xargs apt-get install -y -q --no-install-recommends < /tmp/runtime-packages \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/runtime-packages
COPY --from=build /out/usr/bin/ /usr/bin/
LABEL org.opencontainers.image.title="kbnet" \
      org.opencontainers.image.description="kbnet node agent, agentctl and CNI plugin" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
ENTRYPOINT ["/usr/bin/kbnet-entrypoint"]
CMD ["--config", "/etc/kbnet/agent.yaml"]
