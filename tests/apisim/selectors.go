package main

import (
	"fmt"
	"regexp"
	"strings"
)

// labelRequirement is one term of a label selector.
type labelRequirement struct {
	key    string
	op     string // "=", "!=", "in", "notin", "exists", "!exists"
	values []string
}

type labelSelector []labelRequirement

var (
	labelKeyRE   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelValueRE = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
	setTermRE    = regexp.MustCompile(`^(\S+)\s+(in|notin)\s*\((.*)\)$`)
)

// parseLabelSelector parses the labelSelector syntax: k=v, k==v, k!=v,
// k in (a,b), k notin (a,b), k, !k; terms separated by commas.
func parseLabelSelector(s string) (labelSelector, error) {
	var sel labelSelector
	for _, term := range splitTerms(s) {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		var r labelRequirement
		switch {
		case strings.HasPrefix(term, "!"):
			r = labelRequirement{key: strings.TrimSpace(term[1:]), op: "!exists"}
		case setTermRE.MatchString(term):
			m := setTermRE.FindStringSubmatch(term)
			r = labelRequirement{key: m[1], op: m[2]}
			for _, v := range strings.Split(m[3], ",") {
				r.values = append(r.values, strings.TrimSpace(v))
			}
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = labelRequirement{key: strings.TrimSpace(k), op: "=", values: []string{strings.TrimSpace(v)}}
			r.op = "!="
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = labelRequirement{key: strings.TrimSpace(k), op: "=", values: []string{strings.TrimSpace(v)}}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = labelRequirement{key: strings.TrimSpace(k), op: "=", values: []string{strings.TrimSpace(v)}}
		default:
			r = labelRequirement{key: term, op: "exists"}
		}
		if !labelKeyRE.MatchString(r.key) {
			return nil, fmt.Errorf("unable to parse requirement: invalid label key %q", r.key)
		}
		for _, v := range r.values {
			if len(v) > 63 || !labelValueRE.MatchString(v) {
				return nil, fmt.Errorf("unable to parse requirement: invalid label value: %q", v)
			}
		}
		sel = append(sel, r)
	}
	return sel, nil
}

// splitTerms splits on commas that are not inside parentheses.
func splitTerms(s string) []string {
	var terms []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				terms = append(terms, s[start:i])
				start = i + 1
			}
		}
	}
	return append(terms, s[start:])
}

func (sel labelSelector) matches(labels map[string]string) bool {
	for _, r := range sel {
		v, ok := labels[r.key]
		switch r.op {
		case "=":
			if !ok || v != r.values[0] {
				return false
			}
		case "!=":
			if ok && v == r.values[0] {
				return false
			}
		case "in":
			if !ok || !containsString(r.values, v) {
				return false
			}
		case "notin":
			if ok && containsString(r.values, v) {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}

// fieldRequirement is one term of a field selector: field=value or field!=value.
type fieldRequirement struct {
	field string
	value string
	not   bool
}

type fieldSelector []fieldRequirement

// parseFieldSelector parses f=v, f==v and f!=v terms and rejects fields the
// resource does not support, with the real server's message.
func parseFieldSelector(s string, res *Resource) (fieldSelector, error) {
	var sel fieldSelector
	for _, term := range strings.Split(s, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			continue
		}
		var r fieldRequirement
		switch {
		case strings.Contains(term, "!="):
			k, v, _ := strings.Cut(term, "!=")
			r = fieldRequirement{field: k, value: v, not: true}
		case strings.Contains(term, "=="):
			k, v, _ := strings.Cut(term, "==")
			r = fieldRequirement{field: k, value: v}
		case strings.Contains(term, "="):
			k, v, _ := strings.Cut(term, "=")
			r = fieldRequirement{field: k, value: v}
		default:
			return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", s, term)
		}
		r.field = strings.TrimSpace(r.field)
		r.value = strings.TrimSpace(r.value)
		if _, ok := res.Fields[r.field]; !ok && r.field != "metadata.name" && r.field != "metadata.namespace" {
			return nil, fmt.Errorf("field label not supported: %s", r.field)
		}
		sel = append(sel, r)
	}
	return sel, nil
}

func (sel fieldSelector) matches(o *Object) bool {
	for _, r := range sel {
		v, _ := o.Field(r.field)
		if (v == r.value) == r.not {
			return false
		}
	}
	return true
}

// filter is what a list or watch selects: a namespace (or all) and selectors.
type filter struct {
	namespace string
	labels    labelSelector
	fields    fieldSelector
}

func (f *filter) matches(o *Object) bool {
	if f.namespace != "" && o.Namespace != f.namespace {
		return false
	}
	return f.labels.matches(o.Labels) && f.fields.matches(o)
}

func (f *filter) hasSelectors() bool { return len(f.labels) > 0 || len(f.fields) > 0 }
