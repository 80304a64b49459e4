package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func vmiData(ns, name, phase string) map[string]any {
	return map[string]any{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
		"metadata": map[string]any{"name": name, "namespace": ns}, "status": map[string]any{"phase": phase}}
}

func names(objs []*Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key())
	}
	return strings.Join(out, " ")
}

func TestHistoryRingAndCompaction(t *testing.T) {
	h := newHistory(3)
	res := lookupResource("vmi")
	for rv := uint64(1); rv <= 5; rv++ {
		h.append(Event{Type: "ADDED", Obj: &Object{Res: res, RV: rv}})
	}
	if h.base != 2 || h.newest() != 5 || !h.holds(2) || h.holds(1) {
		t.Fatalf("base %d newest %d", h.base, h.newest())
	}
	for rv := uint64(3); rv <= 5; rv++ {
		if got := h.at(rv).Obj.RV; got != rv {
			t.Errorf("at(%d) = %d", rv, got)
		}
	}
	h.resize(2)
	if h.base != 3 || h.at(5).Obj.RV != 5 || h.at(4).Obj.RV != 4 {
		t.Errorf("after resize: base %d", h.base)
	}
	h.compact()
	if h.base != 5 || h.holds(4) || !h.holds(5) {
		t.Errorf("after compaction: base %d", h.base)
	}
}

func TestStateAtUndoesNewerEvents(t *testing.T) {
	s := newStore(100)
	res := lookupResource("vmi")
	for _, n := range []string{"a", "b", "c"} {
		if _, err := s.Upsert(vmiData("ns", n, "Pending")); err != nil {
			t.Fatal(err)
		}
	}
	at := s.CurrentRV()
	s.Upsert(vmiData("ns", "b", "Running"))
	s.Delete(res, "ns", "a")
	s.Upsert(vmiData("ns", "d", "Pending"))

	objs, err := s.StateAt(res, at)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(objs); got != "ns/a ns/b ns/c" {
		t.Errorf("state at %d: %s", at, got)
	}
	if objs[1].RV != 2 {
		t.Errorf("b at %d has resourceVersion %d", at, objs[1].RV)
	}
	now, _ := s.Current(res)
	if got := names(now); got != "ns/b ns/c ns/d" {
		t.Errorf("current: %s", got)
	}
	s.Compact()
	if _, err := s.StateAt(res, at); !errors.Is(err, errTooOld) {
		t.Errorf("after compaction: %v", err)
	}
}

func TestUpsertFillsMetadataAndSkipsNoOps(t *testing.T) {
	s := newStore(100)
	ev, err := s.Upsert(vmiData("", "x", "Pending"))
	if err != nil || ev.Type != "ADDED" {
		t.Fatalf("%v %v", ev.Type, err)
	}
	meta := ev.Obj.Data()["metadata"].(map[string]any)
	if meta["namespace"] != "default" || meta["uid"] == "" || meta["generation"] != json.Number("1") || meta["resourceVersion"] != "1" {
		t.Errorf("metadata: %v", meta)
	}
	ev, _ = s.Upsert(vmiData("default", "x", "Pending"))
	if ev.Type != "" || s.CurrentRV() != 1 {
		t.Errorf("a no-op update made %q at %d", ev.Type, s.CurrentRV())
	}
	d := vmiData("default", "x", "Pending")
	d["spec"] = map[string]any{"running": true}
	ev, _ = s.Upsert(d)
	if ev.Type != "MODIFIED" || ev.Obj.Data()["metadata"].(map[string]any)["generation"] != json.Number("2") {
		t.Errorf("spec change: %q %v", ev.Type, ev.Obj.Data()["metadata"])
	}
	if _, err := s.Upsert(map[string]any{"apiVersion": "v1", "kind": "Nope"}); err == nil {
		t.Error("an unknown kind was stored")
	}
}

func TestWithRVSplicesOnlyTheResourceVersion(t *testing.T) {
	for _, resource := range []string{"pods", "vmis"} {
		res := lookupResource(resource)
		data := map[string]any{"apiVersion": res.GroupVersion(), "kind": res.Kind,
			"metadata": map[string]any{"name": "n", "namespace": "ns", "annotations": map[string]any{"resourceVersion": "9"}}}
		o, err := newObject(res, data, 9)
		if err != nil {
			t.Fatal(err)
		}
		n := o.withRV(12345)
		want := strings.Replace(string(o.Raw()), `"namespace":"ns","resourceVersion":"9"`, `"namespace":"ns","resourceVersion":"12345"`, 1)
		if string(n.Raw()) != want {
			t.Errorf("%s: %s\nwant %s", resource, n.Raw(), want)
		}
		if strings.Contains(string(n.Item()), `"kind"`) != !res.BuiltIn {
			t.Errorf("%s list item: %s", resource, n.Item())
		}
		if !strings.Contains(string(n.Item()), `"resourceVersion":"12345"`) {
			t.Errorf("%s list item: %s", resource, n.Item())
		}
	}
}

func TestContinueTokenRoundTrip(t *testing.T) {
	tok, err := decodeContinue(encodeContinue(42, "ns/name\x00"))
	if err != nil || tok.RV != 42 || tok.Start != "ns/name\x00" {
		t.Errorf("%+v %v", tok, err)
	}
	if _, err := decodeContinue("!!"); err == nil {
		t.Error("a bad token decoded")
	}
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[int64]string{59: "59s", 150: "2m30s", 600: "10m", 3*3600 + 60: "3h1m", 30 * 3600: "30h", 3*86400 + 3600: "3d1h", 40 * 86400: "40d", 800 * 86400: "2y70d"} {
		if got := humanDuration(secondsDuration(d)); got != want {
			t.Errorf("%ds: %s, want %s", d, got, want)
		}
	}
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
