// SPDX-License-Identifier: Apache-2.0
//
// The test control API of kubelet-standin: HTTP with JSON bodies on a Unix socket
// (curl --unix-socket SOCK http://x/state).
//
//	GET    /state                     registered plugins, their devices, the pods
//	POST   /admit    {namespace, name, container, resource, count}
//	                                  admit a pod as kubelet does: the healthy devices no pod
//	                                  holds, GetPreferredAllocation when offered, Allocate, and
//	                                  the assignment recorded (PodResources lists it)
//	POST   /pods     {namespace, name} a live pod that asked for no device
//	DELETE /pods?namespace=N&name=P    the pod is gone (as if deleted, no CNI DEL involved)
//	POST   /preferred {resource, available, mustInclude, size}   raw GetPreferredAllocation
//	POST   /allocate  {resource, containers: [[ids], ...]}      raw Allocate
//	POST   /prestart  {resource, devices}                       raw PreStartContainer
//
// gRPC errors come back as HTTP 502 with {"code": <grpc code>, "message": ...}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	pluginapi "kbnet/api/deviceplugin/v1beta1"

	"google.golang.org/grpc/status"
)

type mountJSON struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
	ReadOnly      bool   `json:"readOnly"`
}

type deviceSpecJSON struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
	Permissions   string `json:"permissions"`
}

type containerResponseJSON struct {
	Envs        map[string]string `json:"envs"`
	Mounts      []mountJSON       `json:"mounts"`
	Devices     []deviceSpecJSON  `json:"devices"`
	Annotations map[string]string `json:"annotations"`
	CDIDevices  []string          `json:"cdiDevices"`
}

func toJSON(r *pluginapi.ContainerAllocateResponse) containerResponseJSON {
	out := containerResponseJSON{Envs: r.Envs, Annotations: r.Annotations,
		Mounts: []mountJSON{}, Devices: []deviceSpecJSON{}, CDIDevices: []string{}}
	if out.Envs == nil {
		out.Envs = map[string]string{}
	}
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	for _, m := range r.Mounts {
		out.Mounts = append(out.Mounts, mountJSON{m.ContainerPath, m.HostPath, m.ReadOnly})
	}
	for _, d := range r.Devices {
		out.Devices = append(out.Devices, deviceSpecJSON{d.ContainerPath, d.HostPath, d.Permissions})
	}
	for _, d := range r.CdiDevices {
		out.CDIDevices = append(out.CDIDevices, d.Name)
	}
	return out
}

func reply(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func grpcError(w http.ResponseWriter, err error) {
	st, _ := status.FromError(err)
	reply(w, http.StatusBadGateway, map[string]interface{}{"code": int(st.Code()), "message": st.Message()})
}

func (s *standin) client(resource string) (pluginapi.DevicePluginClient, *endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.endpoints[resource]
	if e == nil || e.client == nil {
		return nil, e
	}
	return e.client, e
}

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (s *standin) handleAdmit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Namespace, Name, Container, Resource string
		Count                                int
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Count < 1 || req.Name == "" {
		reply(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	if req.Container == "" {
		req.Container = "app"
	}
	client, e := s.client(req.Resource)
	if client == nil {
		reply(w, http.StatusConflict, map[string]string{"error": "resource not registered or not connected"})
		return
	}
	// kubelet's devicesToAllocate: healthy devices no pod holds.
	s.mu.Lock()
	held := map[string]bool{}
	for _, p := range s.pods {
		for _, c := range p.Containers {
			for _, id := range c.Devices[req.Resource] {
				held[id] = true
			}
		}
	}
	available := []string{}
	for _, d := range e.Devices {
		if d.Health == "Healthy" && !held[d.ID] {
			available = append(available, d.ID)
		}
	}
	preferredOffered := e.Options != nil && e.Options.GetPreferredAllocationAvailable
	s.mu.Unlock()
	if len(available) < req.Count {
		reply(w, http.StatusConflict, map[string]interface{}{"error": "not enough devices", "available": available})
		return
	}
	chosen := available[:req.Count]
	var preferred []string
	if preferredOffered {
		ctx, cancel := callCtx()
		resp, err := client.GetPreferredAllocation(ctx, &pluginapi.PreferredAllocationRequest{
			ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{
				AvailableDeviceIDs: available, AllocationSize: int32(req.Count)}}})
		cancel()
		if err != nil {
			grpcError(w, err)
			return
		}
		preferred = resp.ContainerResponses[0].DeviceIDs
		// kubelet only uses a preference that is a valid choice.
		if len(preferred) == req.Count && subset(preferred, available) {
			chosen = preferred
		}
	}
	ctx, cancel := callCtx()
	start := time.Now()
	resp, err := client.Allocate(ctx, &pluginapi.AllocateRequest{
		ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: chosen}}})
	took := time.Since(start)
	cancel()
	if err != nil {
		grpcError(w, err)
		return
	}
	s.mu.Lock()
	var p *pod
	for _, q := range s.pods {
		if q.Namespace == req.Namespace && q.Name == req.Name {
			p = q
		}
	}
	if p == nil {
		p = &pod{Namespace: req.Namespace, Name: req.Name}
		s.pods = append(s.pods, p)
	}
	p.Containers = append(p.Containers, &container{Name: req.Container,
		Devices: map[string][]string{req.Resource: chosen}})
	s.saveLocked()
	s.mu.Unlock()
	log.Printf("admitted %s/%s: %s %v (Allocate %v)", req.Namespace, req.Name, req.Resource, chosen, took)
	reply(w, http.StatusOK, map[string]interface{}{"devices": chosen, "preferred": preferred,
		"response": toJSON(resp.ContainerResponses[0])})
}

func subset(a, b []string) bool {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	for _, x := range a {
		if !in[x] {
			return false
		}
		delete(in, x) // no duplicates either
	}
	return true
}

func (s *standin) handlePods(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var req struct{ Namespace, Name string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" {
			reply(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
			return
		}
		s.mu.Lock()
		s.pods = append(s.pods, &pod{Namespace: req.Namespace, Name: req.Name,
			Containers: []*container{{Name: "app", Devices: map[string][]string{}}}})
		s.saveLocked()
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]bool{"ok": true})
	case http.MethodDelete:
		ns, name := r.URL.Query().Get("namespace"), r.URL.Query().Get("name")
		s.mu.Lock()
		kept := s.pods[:0]
		removed := 0
		for _, p := range s.pods {
			if p.Namespace == ns && p.Name == name {
				removed++
				continue
			}
			kept = append(kept, p)
		}
		s.pods = kept
		s.saveLocked()
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]int{"removed": removed})
	default:
		reply(w, http.StatusMethodNotAllowed, nil)
	}
}

func (s *standin) handlePreferred(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Resource               string
		Available, MustInclude []string
		Size                   int32
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	client, _ := s.client(req.Resource)
	if client == nil {
		reply(w, http.StatusConflict, map[string]string{"error": "not connected"})
		return
	}
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := client.GetPreferredAllocation(ctx, &pluginapi.PreferredAllocationRequest{
		ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{
			AvailableDeviceIDs: req.Available, MustIncludeDeviceIDs: req.MustInclude,
			AllocationSize: req.Size}}})
	if err != nil {
		grpcError(w, err)
		return
	}
	ids := resp.ContainerResponses[0].DeviceIDs
	if ids == nil {
		ids = []string{}
	}
	reply(w, http.StatusOK, map[string]interface{}{"deviceIDs": ids})
}

func (s *standin) handleAllocate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Resource   string
		Containers [][]string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	client, _ := s.client(req.Resource)
	if client == nil {
		reply(w, http.StatusConflict, map[string]string{"error": "not connected"})
		return
	}
	areq := &pluginapi.AllocateRequest{}
	for _, ids := range req.Containers {
		areq.ContainerRequests = append(areq.ContainerRequests, &pluginapi.ContainerAllocateRequest{DevicesIds: ids})
	}
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := client.Allocate(ctx, areq)
	if err != nil {
		grpcError(w, err)
		return
	}
	out := []containerResponseJSON{}
	for _, c := range resp.ContainerResponses {
		out = append(out, toJSON(c))
	}
	reply(w, http.StatusOK, map[string]interface{}{"containers": out})
}

func (s *standin) handlePrestart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Resource string
		Devices  []string
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	client, _ := s.client(req.Resource)
	if client == nil {
		reply(w, http.StatusConflict, map[string]string{"error": "not connected"})
		return
	}
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := client.PreStartContainer(ctx, &pluginapi.PreStartContainerRequest{DevicesIds: req.Devices}); err != nil {
		grpcError(w, err)
		return
	}
	reply(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *standin) handleState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pods := s.pods
	if pods == nil {
		pods = []*pod{}
	}
	reply(w, http.StatusOK, map[string]interface{}{"resources": s.endpoints, "pods": pods})
}

func serveControl(s *standin, l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/state", s.handleState)
	mux.HandleFunc("/admit", s.handleAdmit)
	mux.HandleFunc("/pods", s.handlePods)
	mux.HandleFunc("/preferred", s.handlePreferred)
	mux.HandleFunc("/allocate", s.handleAllocate)
	mux.HandleFunc("/prestart", s.handlePrestart)
	if err := http.Serve(l, mux); err != nil {
		log.Printf("control: %v", fmt.Sprint(err))
	}
}
