package main

import "testing"

func TestLabelSelectorOperators(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "gold", "kubevirt.io/nodeName": "node01"}
	cases := []struct {
		selector string
		want     bool
	}{
		{"", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"app!=db", true},
		{"app!=web", false},
		{"missing!=x", true},
		{"tier in (gold, silver)", true},
		{"tier in (silver)", false},
		{"missing in (x)", false},
		{"tier notin (silver)", true},
		{"tier notin (gold,silver)", false},
		{"missing notin (x)", true},
		{"app", true},
		{"missing", false},
		{"!missing", true},
		{"!app", false},
		{"kubevirt.io/nodeName=node01,tier in (gold),!missing", true},
		{"kubevirt.io/nodeName=node01,tier in (bronze)", false},
	}
	for _, c := range cases {
		sel, err := parseLabelSelector(c.selector)
		if err != nil {
			t.Errorf("%q: %v", c.selector, err)
			continue
		}
		if got := sel.matches(labels); got != c.want {
			t.Errorf("%q matches %v, want %v", c.selector, got, c.want)
		}
	}
}

func TestLabelSelectorErrors(t *testing.T) {
	for _, s := range []string{"a in (b", "=x", "bad key=x", "a=b c", "a=" + string(make([]byte, 64))} {
		if _, err := parseLabelSelector(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestFieldSelector(t *testing.T) {
	res := lookupResource("pods")
	data := map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "p", "namespace": "ns"},
		"spec":     map[string]any{"nodeName": "node01"}, "status": map[string]any{"phase": "Running"}}
	o, err := newObject(res, data, 7)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		selector string
		want     bool
	}{
		{"spec.nodeName=node01", true},
		{"spec.nodeName==node01", true},
		{"spec.nodeName!=node01", false},
		{"spec.nodeName=,status.phase=Running", false},
		{"status.phase=Running,metadata.namespace=ns,metadata.name=p", true},
		{"status.podIP=", true}, // absent fields select as ""
	}
	for _, c := range cases {
		sel, err := parseFieldSelector(c.selector, res)
		if err != nil {
			t.Errorf("%q: %v", c.selector, err)
			continue
		}
		if got := sel.matches(o); got != c.want {
			t.Errorf("%q matches %v, want %v", c.selector, got, c.want)
		}
	}
	if _, err := parseFieldSelector("status.nodeName=x", res); err == nil || err.Error() != "field label not supported: status.nodeName" {
		t.Errorf("unsupported field: %v", err)
	}
	if _, err := parseFieldSelector("status.nodeName=x", lookupResource("vmi")); err != nil {
		t.Errorf("VMIs select on status.nodeName: %v", err)
	}
}
