package main

import (
	"fmt"
	"strings"
	"time"
)

// bulkRequest asks for count objects of a resource generated from a
// template: a given object, a stored one ("from": "ns/name" or "name"), or
// by default the first stored object of the resource.
type bulkRequest struct {
	Resource  string         `json:"resource"`
	Count     int            `json:"count"`
	Namespace string         `json:"namespace"`
	Prefix    string         `json:"prefix"`
	Start     int            `json:"start"`
	Template  map[string]any `json:"template"`
	From      string         `json:"from"`
	Nodes     []string       `json:"nodes"`
}

type bulkResult struct {
	Created         int     `json:"created"`
	Changed         int     `json:"changed"`
	ResourceVersion string  `json:"resourceVersion"`
	Seconds         float64 `json:"seconds"`
}

// bulkLoad creates (or replaces) the objects PREFIX00000..., each a copy
// of the template with its own name, uid and creationTimestamp, without
// ownerReferences, and with every label that named the template naming the
// copy. With nodes, VMIs and pods are spread over them round-robin
// (status.nodeName and the kubevirt.io/nodeName label, or spec.nodeName).
func (s *Server) bulkLoad(req bulkRequest) (bulkResult, error) {
	started := time.Now()
	res := lookupResource(req.Resource)
	if res == nil {
		return bulkResult{}, fmt.Errorf("unknown resource %q", req.Resource)
	}
	if req.Count <= 0 {
		return bulkResult{}, fmt.Errorf("count must be positive")
	}
	tmpl := req.Template
	if tmpl == nil {
		var src *Object
		if req.From != "" {
			ns, name, ok := strings.Cut(req.From, "/")
			if !ok {
				ns, name = "", req.From
			}
			src = s.store.Get(res, ns, name)
		} else if objs, _ := s.store.Current(res); len(objs) > 0 {
			src = objs[0]
		}
		if src == nil {
			return bulkResult{}, fmt.Errorf("no template: give one, or store a %s first", res.Kind)
		}
		tmpl = src.Data()
	} else {
		tmpl["apiVersion"], tmpl["kind"] = res.GroupVersion(), res.Kind
	}
	tmplMeta, _ := tmpl["metadata"].(map[string]any)
	tmplName, _ := tmplMeta["name"].(string)
	prefix := req.Prefix
	if prefix == "" {
		prefix = "bulk-"
	}
	now := time.Now().UTC().Format(time.RFC3339)

	result := bulkResult{}
	const batch = 500
	datas := make([]map[string]any, 0, batch)
	for i := 0; i < req.Count; i++ {
		d := deepCopyJSON(tmpl).(map[string]any)
		meta, _ := d["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			d["metadata"] = meta
		}
		name := fmt.Sprintf("%s%05d", prefix, req.Start+i)
		meta["name"] = name
		if req.Namespace != "" {
			meta["namespace"] = req.Namespace
		}
		for _, k := range []string{"uid", "resourceVersion", "ownerReferences", "managedFields", "generateName"} {
			delete(meta, k)
		}
		meta["creationTimestamp"] = now
		labels, _ := meta["labels"].(map[string]any)
		for k, v := range labels {
			if v == tmplName && tmplName != "" {
				labels[k] = name
			}
		}
		if len(req.Nodes) > 0 {
			spreadOnNode(res, d, req.Nodes[i%len(req.Nodes)])
		}
		datas = append(datas, d)
		if len(datas) == batch || i == req.Count-1 {
			n, err := s.store.UpsertBatch(datas)
			result.Changed += n
			if err != nil {
				return result, err
			}
			datas = datas[:0]
		}
	}
	result.Created = req.Count
	result.ResourceVersion = fmt.Sprint(s.store.CurrentRV())
	result.Seconds = time.Since(started).Seconds()
	return result, nil
}

func spreadOnNode(res *Resource, d map[string]any, node string) {
	switch res.Plural {
	case "virtualmachineinstances":
		if st, ok := d["status"].(map[string]any); ok {
			st["nodeName"] = node
		}
		meta := d["metadata"].(map[string]any)
		if labels, ok := meta["labels"].(map[string]any); ok {
			labels["kubevirt.io/nodeName"] = node
		}
	case "pods":
		if spec, ok := d["spec"].(map[string]any); ok {
			spec["nodeName"] = node
		}
	}
}

// deepCopyJSON copies a decoded JSON value (maps, slices and scalars).
func deepCopyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopyJSON(e)
		}
		return l
	default:
		return v
	}
}

// generateRequest asks for count MODIFIED events as fast as the watchers
// take them.
type generateRequest struct {
	Resource     string `json:"resource"`
	Count        int    `json:"count"`
	Namespace    string `json:"namespace"`
	Backpressure *bool  `json:"backpressure"`
}

type generateResult struct {
	Events               int     `json:"events"`
	FirstResourceVersion string  `json:"firstResourceVersion"`
	LastResourceVersion  string  `json:"lastResourceVersion"`
	Seconds              float64 `json:"seconds"`
	EventsPerSecond      float64 `json:"eventsPerSecond"`
}

// generate appends the events. With back-pressure (the default), it never
// runs more than half the history ahead of the slowest open watch of the
// resource, so a watcher that keeps reading sees every event; a watch that
// stops reading for 10 s is left behind (and closed, as the real watch cache
// closes a stuck watcher).
func (s *Server) generate(req generateRequest) (generateResult, error) {
	res := lookupResource(req.Resource)
	if res == nil {
		return generateResult{}, fmt.Errorf("unknown resource %q", req.Resource)
	}
	if req.Count <= 0 {
		return generateResult{}, fmt.Errorf("count must be positive")
	}
	backpressure := req.Backpressure == nil || *req.Backpressure
	_, _, capacity := s.store.HistoryInfo()
	lead := uint64(capacity / 2)
	if lead == 0 {
		lead = 1
	}
	throttle := func(newest uint64) {
		if !backpressure {
			return
		}
		stalled := time.Now()
		var lastMin uint64
		for {
			min, any := uint64(0), false
			for _, w := range s.hub.matching(res) {
				if p := w.pos.Load(); !any || p < min {
					min, any = p, true
				}
			}
			if !any || newest < min+lead {
				return
			}
			if min != lastMin {
				lastMin, stalled = min, time.Now()
			} else if time.Since(stalled) > 10*time.Second {
				return
			}
			select {
			case <-s.done:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}
	started := time.Now()
	first, last, n, err := s.store.GenerateModified(res, req.Namespace, req.Count, throttle)
	if err != nil {
		return generateResult{}, err
	}
	secs := time.Since(started).Seconds()
	return generateResult{Events: n, FirstResourceVersion: fmt.Sprint(first), LastResourceVersion: fmt.Sprint(last),
		Seconds: secs, EventsPerSecond: float64(n) / secs}, nil
}
