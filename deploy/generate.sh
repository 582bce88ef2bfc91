#!/usr/bin/env bash
# Writes deploy/[0-9]*.yaml from charts/kbnet rendered with its default values (plus the
# Namespace), so that the plain manifests and the chart never drift apart. Edit the chart,
# then run this. `--check` compares instead of writing (exit 1 when deploy/ is stale).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
render=${HELM_RENDER:-$root/${BUILD:-build}/tools/helm-render}
check=0
[ "${1:-}" = --check ] && check=1
if [ ! -x "$render" ]; then
	make -C "$root" --no-print-directory "${BUILD:-build}/tools/helm-render" >&2
fi
out=$root/deploy
if [ $check = 1 ]; then
	out=$(mktemp -d)
	trap 'rm -rf "$out"' EXIT
fi

gen() { # FILE TEMPLATE
	{
		echo "# Generated from charts/kbnet by deploy/generate.sh: edit the chart, then run it."
		"$render" template "$root/charts/kbnet" --name kbnet --namespace kbnet \
			--set createNamespace=true -s "$2"
	} >"$out/$1"
}
gen 00-namespace.yaml templates/namespace.yaml
gen 10-rbac.yaml templates/rbac.yaml
gen 20-configmap.yaml templates/configmap.yaml
gen 30-daemonset.yaml templates/daemonset.yaml
gen 40-networks.yaml templates/networks.yaml

if [ $check = 1 ]; then
	stale=0
	for f in "$out"/*.yaml; do
		if ! diff -u "$root/deploy/$(basename "$f")" "$f"; then
			stale=1
		fi
	done
	if [ $stale = 1 ]; then
		echo "deploy/ differs from the chart: run deploy/generate.sh" >&2
		exit 1
	fi
fi
