// SPDX-License-Identifier: Apache-2.0
//
// kubelet-standin bench: what kubelet does to a plugin under load, timed. Opens -streams
// ListAndWatch streams on one connection (kubelet keeps one; more show the cost of each),
// then makes -n Allocate calls of one device each, one after another, as kubelet does when
// containers start. Prints one JSON object: Allocate latency percentiles and, with -pid, the
// plugin process's resident memory while the streams are open.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io/ioutil"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	pluginapi "kbnet/api/deviceplugin/v1beta1"
)

func rssKiB(pid int) int64 { return statusKiB(pid, "VmRSS:") }

// statusKiB: a "Name:   N kB" line of /proc/PID/status.
func statusKiB(pid int, name string) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), name) {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 {
				v, _ := strconv.ParseInt(fields[1], 10, 64)
				return v
			}
		}
	}
	return -1
}

// cpuNs: CPU time the process has run, in ns (/proc/PID/schedstat, first field). Unlike the
// latency it does not depend on how busy the machine is with other work.
func cpuNs(pid int) int64 {
	data, err := ioutil.ReadFile("/proc/" + strconv.Itoa(pid) + "/schedstat")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return -1
	}
	v, _ := strconv.ParseInt(fields[0], 10, 64)
	return v
}

func pct(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i].Nanoseconds()) / 1000
}

func bench() {
	ep := flag.String("endpoint", "", "plugin socket")
	nstreams := flag.Int("streams", 4, "ListAndWatch streams held open")
	n := flag.Int("n", 1000, "Allocate calls")
	warmup := flag.Int("warmup", 50, "untimed Allocate calls first")
	pid := flag.Int("pid", 0, "plugin process, for its RSS")
	flag.Parse()
	if *ep == "" {
		log.Fatal("usage: kubelet-standin bench -endpoint SOCK [-streams N] [-n N] [-pid PID]")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := dial(ctx, *ep)
	if err != nil {
		log.Fatalf("dial %s: %v", *ep, err)
	}
	defer conn.Close()
	client := pluginapi.NewDevicePluginClient(conn)
	var ids []string
	rssBase := int64(-1)
	if *pid > 0 {
		rssBase = rssKiB(*pid)
	}
	for i := 0; i < *nstreams; i++ {
		stream, err := client.ListAndWatch(ctx, &pluginapi.Empty{})
		if err != nil {
			log.Fatalf("ListAndWatch: %v", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			log.Fatalf("ListAndWatch: %v", err)
		}
		if ids == nil {
			for _, d := range resp.Devices {
				ids = append(ids, d.ID)
			}
		}
		// Keep draining so a pushed update never backs up the connection.
		go func() {
			for {
				if _, err := stream.Recv(); err != nil {
					return
				}
			}
		}()
	}
	if len(ids) == 0 {
		log.Fatal("the plugin lists no devices")
	}
	lat := make([]time.Duration, 0, *n)
	var cpu0 int64 = -1
	for i := 0; i < *warmup+*n; i++ {
		if i == *warmup && *pid > 0 {
			cpu0 = cpuNs(*pid)
		}
		req := &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{
			{DevicesIds: []string{ids[i%len(ids)]}}}}
		start := time.Now()
		if _, err := client.Allocate(ctx, req); err != nil {
			log.Fatalf("Allocate: %v", err)
		}
		if i >= *warmup {
			lat = append(lat, time.Since(start))
		}
	}
	rss, anon, cpuPerCall := int64(-1), int64(-1), float64(-1)
	if *pid > 0 {
		rss = rssKiB(*pid)
		anon = statusKiB(*pid, "RssAnon:")
		if cpu1 := cpuNs(*pid); cpu0 >= 0 && cpu1 >= 0 {
			cpuPerCall = float64(cpu1-cpu0) / 1000 / float64(*n)
		}
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	json.NewEncoder(os.Stdout).Encode(map[string]interface{}{
		"calls": len(lat), "streams": *nstreams, "devices": len(ids),
		"p50_us": pct(lat, 0.50), "p90_us": pct(lat, 0.90), "p99_us": pct(lat, 0.99),
		"max_us":         float64(lat[len(lat)-1].Nanoseconds()) / 1000,
		"mean_us":        float64(sum.Nanoseconds()) / 1000 / float64(len(lat)),
		"rss_kib_before": rssBase, "rss_kib": rss, "rss_anon_kib": anon,
		"agent_cpu_us_per_call": cpuPerCall,
	})
}
