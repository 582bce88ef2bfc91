// SPDX-License-Identifier: Apache-2.0

// libcni-client runs a CNI network configuration list the way a container runtime does,
// through libcni (the library containerd, CRI-O and Multus use): ADD caches its result under
// -cachedir, CHECK and DEL hand that cached result to the plugins as prevResult. Built offline
// from Debian's golang-github-appc-cni-dev; used by test/integration/cni_libcni.sh.
//
//	libcni-client -conflist F|-conf F -path DIRS -cachedir D [-netns P -cid ID -ifname N -args K=V;..
//	              -capargs JSON] add|check|del|cached|validate|version
//
// On success the command's output (a result, or versions) is printed on stdout. On failure the
// error is printed on stdout as {"code": N, "msg": ..., "details": ...} (code 0 when libcni
// failed before any plugin answered) and the exit status is 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func fail(err error) {
	out := map[string]interface{}{"code": 0, "msg": err.Error(), "details": ""}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out["code"] = cniErr.Code
		out["msg"] = cniErr.Msg
		out["details"] = cniErr.Details
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	fmt.Fprintln(os.Stderr, "libcni-client:", err)
	os.Exit(1)
}

func printJSON(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

func main() {
	conflist := flag.String("conflist", "", "network configuration list (.conflist)")
	conf := flag.String("conf", "", "a single network configuration (.conf), as Multus runs a NetworkAttachmentDefinition's config: libcni's AddNetwork/DelNetwork")
	path := flag.String("path", "/opt/cni/bin", "plugin directories, ':'-separated")
	cacheDir := flag.String("cachedir", "", "libcni result cache directory")
	netns := flag.String("netns", "", "network namespace path")
	cid := flag.String("cid", "", "container ID")
	ifname := flag.String("ifname", "net1", "interface name")
	args := flag.String("args", "", "CNI_ARGS as K=V;K=V")
	capArgs := flag.String("capargs", "", "capability arguments as a JSON object")
	timeout := flag.Duration("timeout", 30*time.Second, "overall deadline")
	flag.Parse()
	if flag.NArg() != 1 || (*conflist == "") == (*conf == "") || *cacheDir == "" {
		fmt.Fprintln(os.Stderr, "usage: libcni-client -conflist F -cachedir D [...] add|check|del|cached|validate|version")
		os.Exit(2)
	}

	var list *libcni.NetworkConfigList
	var single *libcni.NetworkConfig
	var err error
	if *conf != "" {
		if single, err = libcni.ConfFromFile(*conf); err != nil {
			fail(err)
		}
	} else if list, err = libcni.ConfListFromFile(*conflist); err != nil {
		fail(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(*path), *cacheDir, nil)
	rt := &libcni.RuntimeConf{
		ContainerID: *cid,
		NetNS:       *netns,
		IfName:      *ifname,
		CacheDir:    *cacheDir,
	}
	if *args != "" {
		for _, kv := range strings.Split(*args, ";") {
			p := strings.SplitN(kv, "=", 2)
			if len(p) != 2 {
				fail(fmt.Errorf("bad -args pair %q", kv))
			}
			rt.Args = append(rt.Args, [2]string{p[0], p[1]})
		}
	}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(fmt.Errorf("-capargs: %w", err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if single != nil {
		runSingle(ctx, cni, single, rt, flag.Arg(0))
		return
	}
	switch flag.Arg(0) {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		if err := res.Print(); err != nil {
			fail(err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "cached":
		res, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			fail(err)
		}
		if res == nil {
			fail(errors.New("no cached result"))
		}
		if err := res.Print(); err != nil {
			fail(err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		printJSON(map[string]interface{}{"capabilities": caps})
	case "version":
		out := map[string][]string{}
		for _, p := range list.Plugins {
			info, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				fail(err)
			}
			out[p.Network.Type] = info.SupportedVersions()
		}
		printJSON(out)
	default:
		fail(fmt.Errorf("unknown command %q", flag.Arg(0)))
	}
}

// runSingle drives one network configuration the way Multus drives a delegate that is not a
// list: AddNetwork / CheckNetwork / DelNetwork (capabilities and runtimeConfig handled by
// libcni exactly as for a list's plugins).
func runSingle(ctx context.Context, cni *libcni.CNIConfig, net *libcni.NetworkConfig,
	rt *libcni.RuntimeConf, cmd string) {
	switch cmd {
	case "add":
		res, err := cni.AddNetwork(ctx, net, rt)
		if err != nil {
			fail(err)
		}
		if err := res.Print(); err != nil {
			fail(err)
		}
	case "check":
		if err := cni.CheckNetwork(ctx, net, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetwork(ctx, net, rt); err != nil {
			fail(err)
		}
	default:
		fail(fmt.Errorf("command %q needs -conflist", cmd))
	}
}
