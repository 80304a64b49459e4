package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Column is one Table column: a path into the object or a function of it.
type Column struct {
	Name     string
	Type     string // string, integer, boolean, date
	Priority int
	Path     []string
	Value    func(obj map[string]any, now time.Time) any
}

var ageColumn = Column{Name: "Age", Type: "date", Path: []string{"metadata", "creationTimestamp"}}

const nameColumnDescription = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"

// wantsTable reports whether an Accept header asks for a meta.k8s.io Table,
// as kubectl's human-readable output does.
func wantsTable(accept string) bool {
	for _, mt := range strings.Split(accept, ",") {
		params := mediaParams(mt)
		if params["as"] == "Table" && params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
			return true
		}
	}
	return false
}

// mediaParams parses "type/subtype;k=v;k2=v2" into its parameters.
func mediaParams(mt string) map[string]string {
	params := map[string]string{}
	parts := strings.Split(mt, ";")
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
			params[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return params
}

type tableColumnDefinition struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Format      string `json:"format"`
	Description string `json:"description"`
	Priority    int    `json:"priority"`
}

type tableRow struct {
	Cells  []any           `json:"cells"`
	Object json.RawMessage `json:"object,omitempty"`
}

type table struct {
	Kind       string                  `json:"kind"`
	APIVersion string                  `json:"apiVersion"`
	Metadata   listMeta                `json:"metadata"`
	Columns    []tableColumnDefinition `json:"columnDefinitions"`
	Rows       []tableRow              `json:"rows"`
}

type listMeta struct {
	ResourceVersion    string `json:"resourceVersion,omitempty"`
	Continue           string `json:"continue,omitempty"`
	RemainingItemCount *int   `json:"remainingItemCount,omitempty"`
}

// buildTable converts objects into a meta.k8s.io/v1 Table the way the real
// server does: a Name column, the resource's columns, and each row's object
// as PartialObjectMetadata (includeObject=Metadata, the default), the whole
// object (Object) or nothing (None).
func buildTable(res *Resource, objs []*Object, meta listMeta, includeObject string, now time.Time) ([]byte, error) {
	t := table{Kind: "Table", APIVersion: "meta.k8s.io/v1", Metadata: meta, Rows: []tableRow{}}
	t.Columns = append(t.Columns, tableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: nameColumnDescription})
	for _, c := range res.Columns {
		t.Columns = append(t.Columns, tableColumnDefinition{Name: c.Name, Type: columnType(c.Type), Description: c.Name, Priority: c.Priority})
	}
	for _, o := range objs {
		data := o.Data()
		row := tableRow{Cells: []any{o.Name}}
		for _, c := range res.Columns {
			row.Cells = append(row.Cells, cellValue(c, data, now))
		}
		switch includeObject {
		case "None":
		case "Object":
			row.Object = o.raw
		default:
			partial := map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": data["metadata"]}
			b, err := json.Marshal(partial)
			if err != nil {
				return nil, err
			}
			row.Object = b
		}
		t.Rows = append(t.Rows, row)
	}
	return json.Marshal(t)
}

func columnType(t string) string {
	if t == "date" {
		return "string" // rendered as an age by the server, as CRD tables do
	}
	return t
}

func cellValue(c Column, data map[string]any, now time.Time) any {
	var v any
	if c.Value != nil {
		v = c.Value(data, now)
	} else {
		v = lookupPath(data, c.Path)
	}
	if c.Type == "date" {
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				return humanDuration(now.Sub(t))
			}
		}
		return "<unknown>"
	}
	if v == nil {
		if c.Type == "string" {
			return ""
		}
		return nil
	}
	return v
}

// lookupPath follows map keys into a decoded JSON object.
func lookupPath(data map[string]any, path []string) any {
	var cur any = data
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// humanDuration renders an age the way kubectl and the apiserver do
// (k8s.io/apimachinery's HumanDuration).
func humanDuration(d time.Duration) string {
	if seconds := int(d.Seconds()); seconds < -1 {
		return "<invalid>"
	} else if seconds < 0 {
		return "0s"
	} else if seconds < 60*2 {
		return fmt.Sprintf("%ds", seconds)
	}
	minutes := int(d / time.Minute)
	if minutes < 10 {
		s := int(d/time.Second) % 60
		if s == 0 {
			return fmt.Sprintf("%dm", minutes)
		}
		return fmt.Sprintf("%dm%ds", minutes, s)
	} else if minutes < 60*3 {
		return fmt.Sprintf("%dm", minutes)
	}
	hours := int(d / time.Hour)
	if hours < 8 {
		m := int(d/time.Minute) % 60
		if m == 0 {
			return fmt.Sprintf("%dh", hours)
		}
		return fmt.Sprintf("%dh%dm", hours, m)
	} else if hours < 48 {
		return fmt.Sprintf("%dh", hours)
	} else if hours < 24*8 {
		h := hours % 24
		if h == 0 {
			return fmt.Sprintf("%dd", hours/24)
		}
		return fmt.Sprintf("%dd%dh", hours/24, h)
	} else if hours < 24*365*2 {
		return fmt.Sprintf("%dd", hours/24)
	} else if hours < 24*365*8 {
		dy := int(hours/24) % 365
		if dy == 0 {
			return fmt.Sprintf("%dy", hours/24/365)
		}
		return fmt.Sprintf("%dy%dd", hours/24/365, dy)
	}
	return fmt.Sprintf("%dy", int(hours/24/365))
}

// Column values that are not a single path.

func conditionStatus(condType string) func(map[string]any, time.Time) any {
	return func(data map[string]any, _ time.Time) any {
		conds, _ := lookupPath(data, []string{"status", "conditions"}).([]any)
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == condType {
				return m["status"]
			}
		}
		return ""
	}
}

func vmiIP(data map[string]any, _ time.Time) any {
	ifaces, _ := lookupPath(data, []string{"status", "interfaces"}).([]any)
	if len(ifaces) > 0 {
		if m, ok := ifaces[0].(map[string]any); ok {
			return m["ipAddress"]
		}
	}
	return ""
}

func nodeStatus(data map[string]any, now time.Time) any {
	status := conditionStatus("Ready")(data, now)
	ready := "Unknown"
	switch status {
	case "True":
		ready = "Ready"
	case "False":
		ready = "NotReady"
	}
	if u, _ := lookupPath(data, []string{"spec", "unschedulable"}).(bool); u {
		ready += ",SchedulingDisabled"
	}
	return ready
}

func nodeRoles(data map[string]any, _ time.Time) any {
	labels, _ := lookupPath(data, []string{"metadata", "labels"}).(map[string]any)
	var roles []string
	for k := range labels {
		if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != k && r != "" {
			roles = append(roles, r)
		}
	}
	if len(roles) == 0 {
		return "<none>"
	}
	sort.Strings(roles)
	return strings.Join(roles, ",")
}

// configMapData is kubectl's DATA column: the number of data and binaryData keys.
func configMapData(data map[string]any, _ time.Time) any {
	d, _ := data["data"].(map[string]any)
	b, _ := data["binaryData"].(map[string]any)
	return int64(len(d) + len(b))
}

func podReady(data map[string]any, _ time.Time) any {
	statuses, _ := lookupPath(data, []string{"status", "containerStatuses"}).([]any)
	containers, _ := lookupPath(data, []string{"spec", "containers"}).([]any)
	ready := 0
	for _, s := range statuses {
		if m, ok := s.(map[string]any); ok && m["ready"] == true {
			ready++
		}
	}
	return fmt.Sprintf("%d/%d", ready, len(containers))
}

func podRestarts(data map[string]any, _ time.Time) any {
	statuses, _ := lookupPath(data, []string{"status", "containerStatuses"}).([]any)
	total := int64(0)
	for _, s := range statuses {
		if m, ok := s.(map[string]any); ok {
			if n, ok := m["restartCount"].(json.Number); ok {
				v, _ := n.Int64()
				total += v
			}
		}
	}
	return fmt.Sprint(total)
}

func deploymentReady(data map[string]any, _ time.Time) any {
	ready := lookupPath(data, []string{"status", "readyReplicas"})
	want := lookupPath(data, []string{"spec", "replicas"})
	if ready == nil {
		ready = "0"
	}
	if want == nil {
		want = "1"
	}
	return fmt.Sprintf("%v/%v", ready, want)
}
