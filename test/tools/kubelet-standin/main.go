// SPDX-License-Identifier: Apache-2.0
//
// kubelet-standin stands in for the parts of kubelet that a device plugin talks to, so kbnet's
// device plugins can be tested against a real gRPC peer on a machine without kubelet:
//
//   - the device manager (pkg/kubelet/cm/devicemanager): on start it empties the device-plugin
//     directory except its checkpoint, serves Registration.Register on <dir>/kubelet.sock, and for
//     each registered plugin dials <dir>/<endpoint> the way kubelet does (grpc-go, the bare socket
//     path as the target with a unix dialer, so :authority is the path), then keeps a
//     ListAndWatch stream open. Admitting a pod asks GetPreferredAllocation (when the plugin
//     offers it) and then Allocate, and records the assignment in a checkpoint that survives a
//     restart of the stand-in, as kubelet's does;
//   - the pod-resources server (pkg/kubelet/apis/podresources): PodResourcesLister.List on its
//     own socket, listing live pods with the devices assigned to their containers.
//
// It follows the published v1beta1 device-plugin and v1 pod-resources APIs (messages generated
// from node-agent/proto with protoc-gen-go) and is built offline with Debian's grpc-go, the
// library kubelet itself uses. Tests drive it over an HTTP+JSON control socket (see control.go).
//
// `kubelet-standin bench` is a separate mode: kubelet's calls against one plugin socket,
// timed (see bench.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"sync"
	"syscall"
	"time"

	pluginapi "kbnet/api/deviceplugin/v1beta1"
	podresourcesapi "kbnet/api/podresources/v1"

	"google.golang.org/grpc"
)

const (
	apiVersion     = "v1beta1"
	kubeletSocket  = "kubelet.sock"
	checkpointName = "kubelet_internal_checkpoint"
)

// One device as the plugin last reported it.
type device struct {
	ID     string  `json:"id"`
	Health string  `json:"health"`
	NUMA   []int64 `json:"numa"`
}

// A registered plugin (kubelet's endpoint).
type endpoint struct {
	Resource      string                         `json:"resource"`
	Endpoint      string                         `json:"endpoint"`
	Options       *pluginapi.DevicePluginOptions `json:"options"`
	Registrations int                            `json:"registrations"`
	Connected     bool                           `json:"connected"`
	Devices       []device                       `json:"devices"`
	Updates       int                            `json:"updates"`
	// Device counts of every ListAndWatch message, in order: a plugin that advertises zero
	// devices while it restarts shows up here.
	Counts []int `json:"counts"`
	// Healthy devices in each of those messages: a plugin that marks a healthy pool
	// Unhealthy while it restarts (capacity zero for the scheduler) shows up here.
	HealthyCounts []int  `json:"healthyCounts"`
	LastError     string `json:"lastError,omitempty"`

	conn   *grpc.ClientConn
	client pluginapi.DevicePluginClient
	cancel context.CancelFunc
}

type container struct {
	Name    string              `json:"name"`
	Devices map[string][]string `json:"devices"` // resource -> device IDs
}

type pod struct {
	Namespace  string       `json:"namespace"`
	Name       string       `json:"name"`
	Containers []*container `json:"containers"`
}

type standin struct {
	mu         sync.Mutex
	dir        string
	checkpoint string
	endpoints  map[string]*endpoint // by resource name
	pods       []*pod
}

var resourceRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)/([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$`)

// Register is kubelet's Registration service.
func (s *standin) Register(ctx context.Context, r *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	if r.Version != apiVersion {
		return nil, fmt.Errorf("requested device plugin version %q is not supported (want %s)", r.Version, apiVersion)
	}
	m := resourceRE.FindStringSubmatch(r.ResourceName)
	if m == nil || m[1] == "kubernetes.io" || len(m[5]) > 63 {
		return nil, fmt.Errorf("resource name %q is not an extended resource name", r.ResourceName)
	}
	if r.Endpoint == "" || filepath.Base(r.Endpoint) != r.Endpoint {
		return nil, fmt.Errorf("endpoint %q must be a file name in %s", r.Endpoint, s.dir)
	}
	log.Printf("Register: %s at %s (options %+v)", r.ResourceName, r.Endpoint, r.Options)
	s.mu.Lock()
	old := s.endpoints[r.ResourceName]
	e := &endpoint{Resource: r.ResourceName, Endpoint: r.Endpoint, Options: r.Options, Registrations: 1}
	if old != nil {
		// As kubelet: the new registration replaces the old endpoint.
		e.Registrations = old.Registrations + 1
		e.Counts = old.Counts
		e.HealthyCounts = old.HealthyCounts
		e.Updates = old.Updates
		old.cancel()
	}
	ctx2, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	s.endpoints[r.ResourceName] = e
	s.mu.Unlock()
	go s.runClient(ctx2, e)
	return &pluginapi.Empty{}, nil
}

// dial connects the way kubelet's devicemanager does: the bare socket path as the target and a
// unix dialer, so grpc-go sends the path as :authority.
func dial(ctx context.Context, path string) (*grpc.ClientConn, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return grpc.DialContext(ctx, path, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", addr)
		}))
}

func (s *standin) runClient(ctx context.Context, e *endpoint) {
	conn, err := dial(ctx, filepath.Join(s.dir, e.Endpoint))
	if err != nil {
		s.setError(e, fmt.Sprintf("dial: %v", err))
		return
	}
	defer conn.Close()
	client := pluginapi.NewDevicePluginClient(conn)
	opts, err := client.GetDevicePluginOptions(ctx, &pluginapi.Empty{})
	if err != nil {
		s.setError(e, fmt.Sprintf("GetDevicePluginOptions: %v", err))
		return
	}
	stream, err := client.ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		s.setError(e, fmt.Sprintf("ListAndWatch: %v", err))
		return
	}
	s.mu.Lock()
	e.conn, e.client, e.Connected = conn, client, true
	if opts != nil {
		e.Options = opts
	}
	s.mu.Unlock()
	for {
		resp, err := stream.Recv()
		if err != nil {
			s.mu.Lock()
			e.Connected = false
			e.LastError = fmt.Sprintf("ListAndWatch ended: %v", err)
			s.mu.Unlock()
			log.Printf("%s: ListAndWatch ended: %v", e.Resource, err)
			return
		}
		devs := make([]device, 0, len(resp.Devices))
		healthy := 0
		for _, d := range resp.Devices {
			if d.Health == "Healthy" {
				healthy++
			}
			dv := device{ID: d.ID, Health: d.Health, NUMA: []int64{}}
			if d.Topology != nil {
				for _, n := range d.Topology.Nodes {
					dv.NUMA = append(dv.NUMA, n.ID)
				}
			}
			devs = append(devs, dv)
		}
		s.mu.Lock()
		e.Devices = devs
		e.Updates++
		e.Counts = append(e.Counts, len(devs))
		e.HealthyCounts = append(e.HealthyCounts, healthy)
		s.mu.Unlock()
		log.Printf("%s: ListAndWatch: %d devices", e.Resource, len(devs))
	}
}

func (s *standin) setError(e *endpoint, msg string) {
	log.Printf("%s: %s", e.Resource, msg)
	s.mu.Lock()
	e.LastError = msg
	s.mu.Unlock()
}

// List is kubelet's PodResourcesLister.List: every live pod, every container, its devices.
func (s *standin) List(ctx context.Context, r *podresourcesapi.ListPodResourcesRequest) (*podresourcesapi.ListPodResourcesResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &podresourcesapi.ListPodResourcesResponse{}
	for _, p := range s.pods {
		pr := &podresourcesapi.PodResources{Name: p.Name, Namespace: p.Namespace}
		for _, c := range p.Containers {
			cr := &podresourcesapi.ContainerResources{Name: c.Name}
			resources := make([]string, 0, len(c.Devices))
			for r := range c.Devices {
				resources = append(resources, r)
			}
			sort.Strings(resources)
			for _, r := range resources {
				cr.Devices = append(cr.Devices, &podresourcesapi.ContainerDevices{
					ResourceName: r, DeviceIds: c.Devices[r], Topology: s.topologyLocked(r, c.Devices[r])})
			}
			pr.Containers = append(pr.Containers, cr)
		}
		resp.PodResources = append(resp.PodResources, pr)
	}
	return resp, nil
}

func (s *standin) topologyLocked(resource string, ids []string) *podresourcesapi.TopologyInfo {
	e := s.endpoints[resource]
	if e == nil {
		return nil
	}
	seen := map[int64]bool{}
	t := &podresourcesapi.TopologyInfo{}
	for _, d := range e.Devices {
		for _, id := range ids {
			if d.ID != id {
				continue
			}
			for _, n := range d.NUMA {
				if !seen[n] {
					seen[n] = true
					t.Nodes = append(t.Nodes, &podresourcesapi.NUMANode{ID: n})
				}
			}
		}
	}
	return t
}

func (s *standin) saveLocked() {
	data, err := json.MarshalIndent(struct {
		Pods []*pod `json:"pods"`
	}{s.pods}, "", "  ")
	if err == nil {
		err = ioutil.WriteFile(s.checkpoint+".tmp", data, 0600)
	}
	if err == nil {
		err = os.Rename(s.checkpoint+".tmp", s.checkpoint)
	}
	if err != nil {
		log.Printf("checkpoint: %v", err)
	}
}

func (s *standin) load() {
	data, err := ioutil.ReadFile(s.checkpoint)
	if err != nil {
		return
	}
	var cp struct {
		Pods []*pod `json:"pods"`
	}
	if err := json.Unmarshal(data, &cp); err != nil {
		log.Printf("checkpoint %s: %v", s.checkpoint, err)
		return
	}
	s.pods = cp.Pods
}

// removeContents empties the plugin directory like kubelet's device manager does at start:
// every plugin socket goes, the checkpoint stays.
func removeContents(dir string) error {
	names, err := ioutil.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, fi := range names {
		if fi.Name() == checkpointName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, fi.Name())); err != nil {
			return err
		}
	}
	return nil
}

func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0755); err != nil {
		return nil, err
	}
	os.Remove(path)
	return net.Listen("unix", path)
}

func serve() {
	dir := flag.String("plugin-dir", "", "device-plugin directory (kubelet: /var/lib/kubelet/device-plugins)")
	podres := flag.String("pod-resources", "", "pod-resources socket (kubelet: /var/lib/kubelet/pod-resources/kubelet.sock)")
	ctl := flag.String("control", "", "control socket for tests (HTTP+JSON)")
	flag.Parse()
	if *dir == "" || *podres == "" || *ctl == "" {
		log.Fatal("usage: kubelet-standin -plugin-dir DIR -pod-resources SOCK -control SOCK")
	}
	s := &standin{dir: *dir, checkpoint: filepath.Join(*dir, checkpointName), endpoints: map[string]*endpoint{}}
	if err := os.MkdirAll(*dir, 0755); err != nil {
		log.Fatal(err)
	}
	if err := removeContents(*dir); err != nil {
		log.Fatal(err)
	}
	s.load()

	lr, err := listenUnix(*podres)
	if err != nil {
		log.Fatal(err)
	}
	prs := grpc.NewServer()
	podresourcesapi.RegisterPodResourcesListerServer(prs, s)
	go prs.Serve(lr)

	lc, err := listenUnix(*ctl)
	if err != nil {
		log.Fatal(err)
	}
	go serveControl(s, lc)

	// The registration socket comes last, as in kubelet: once it exists, kubelet is ready.
	lk, err := listenUnix(filepath.Join(*dir, kubeletSocket))
	if err != nil {
		log.Fatal(err)
	}
	rs := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(rs, s)
	go rs.Serve(lk)
	log.Printf("kubelet-standin: serving %s, pod resources on %s, control on %s (pid %d)",
		filepath.Join(*dir, kubeletSocket), *podres, *ctl, os.Getpid())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	rs.Stop()
	prs.Stop()
	lc.Close()
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("kubelet-standin: ")
	if len(os.Args) > 1 && os.Args[1] == "bench" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		bench()
		return
	}
	serve()
}
