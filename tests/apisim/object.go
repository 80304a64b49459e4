package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
)

// Object is one stored version of an API object. It is immutable once
// stored: an update stores a new Object, so lists, snapshots and watch
// history can share pointers without copying.
type Object struct {
	Res       *Resource
	Namespace string
	Name      string
	RV        uint64
	Labels    map[string]string
	fields    map[string]string // field-selector values

	// raw is the object as a watch event or GET serves it; item is the list
	// item form (built-in types drop kind/apiVersion there; for custom
	// resources it is raw). rvAt/itemRVAt locate the resourceVersion digits
	// so a new version differing only in its resourceVersion is a splice.
	raw      []byte
	item     []byte
	rvAt     int
	itemRVAt int
	rvLen    int
}

// Key orders objects the way etcd keys do: namespace/name, or name.
func (o *Object) Key() string { return objectKey(o.Res, o.Namespace, o.Name) }

func objectKey(res *Resource, namespace, name string) string {
	if res.Namespaced {
		return namespace + "/" + name
	}
	return name
}

// Data decodes the object (numbers as json.Number). It is decoded anew on
// each call rather than kept: holding ten thousands of decoded trees costs
// the garbage collector more than the rare decodes do.
func (o *Object) Data() map[string]any { return decodeJSON(o.raw) }

// Raw is the serialized object with kind and apiVersion.
func (o *Object) Raw() []byte { return o.raw }

// Item is the serialized object as a list item.
func (o *Object) Item() []byte { return o.item }

// Field returns a field-selector value ("" when absent, as the real server).
func (o *Object) Field(name string) (string, bool) {
	switch name {
	case "metadata.name":
		return o.Name, true
	case "metadata.namespace":
		return o.Namespace, true
	}
	v, ok := o.fields[name]
	if !ok {
		_, ok = o.Res.Fields[name]
	}
	return v, ok
}

// rvPlaceholder stands in for the resourceVersion while serializing, so the
// digits' position in the bytes is known.
const rvPlaceholder = "\x00apisim-resource-version\x00"

var rvPlaceholderJSON = []byte(`"\u0000apisim-resource-version\u0000"`)

// newObject serializes data (already normalized: name, namespace, uid...)
// as version rv of a res object.
func newObject(res *Resource, data map[string]any, rv uint64) (*Object, error) {
	meta, _ := data["metadata"].(map[string]any)
	if meta == nil {
		return nil, fmt.Errorf("object has no metadata")
	}
	o := &Object{Res: res, RV: rv}
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	o.Labels = stringMap(meta["labels"])
	o.fields = map[string]string{}
	for label, path := range res.Fields {
		o.fields[label] = fieldString(lookupPath(data, path))
	}

	rvDigits := strconv.FormatUint(rv, 10)
	meta["resourceVersion"] = rvPlaceholder
	full, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	o.raw, o.rvAt = spliceRV(full, rvDigits)
	o.rvLen = len(rvDigits)
	if res.BuiltIn {
		short := make(map[string]any, len(data))
		for k, v := range data {
			if k != "kind" && k != "apiVersion" {
				short[k] = v
			}
		}
		b, err := json.Marshal(short)
		if err != nil {
			return nil, err
		}
		o.item, o.itemRVAt = spliceRV(b, rvDigits)
	} else {
		o.item, o.itemRVAt = o.raw, o.rvAt
	}
	meta["resourceVersion"] = rvDigits
	return o, nil
}

// spliceRV replaces the placeholder in b with `"digits"` and returns the
// result and the offset of the digits.
func spliceRV(b []byte, digits string) ([]byte, int) {
	i := bytes.Index(b, rvPlaceholderJSON)
	if i < 0 {
		panic("resourceVersion placeholder lost in serialization")
	}
	out := make([]byte, 0, len(b)-len(rvPlaceholderJSON)+len(digits)+2)
	out = append(out, b[:i]...)
	out = append(out, '"')
	out = append(out, digits...)
	out = append(out, '"')
	out = append(out, b[i+len(rvPlaceholderJSON):]...)
	return out, i + 1
}

// withRV returns a copy of o that differs only in its resourceVersion:
// the cheap path for generated MODIFIED events and for DELETED events.
func (o *Object) withRV(rv uint64) *Object {
	digits := strconv.FormatUint(rv, 10)
	n := &Object{Res: o.Res, Namespace: o.Namespace, Name: o.Name, RV: rv, Labels: o.Labels, fields: o.fields, rvLen: len(digits)}
	n.raw = resplice(o.raw, o.rvAt, o.rvLen, digits)
	n.rvAt = o.rvAt
	if o.Res.BuiltIn {
		n.item = resplice(o.item, o.itemRVAt, o.rvLen, digits)
		n.itemRVAt = o.itemRVAt
	} else {
		n.item, n.itemRVAt = n.raw, n.rvAt
	}
	return n
}

func resplice(b []byte, at, oldLen int, digits string) []byte {
	out := make([]byte, 0, len(b)-oldLen+len(digits))
	out = append(out, b[:at]...)
	out = append(out, digits...)
	return append(out, b[at+oldLen:]...)
}

func decodeJSON(b []byte) map[string]any {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		panic(fmt.Sprintf("stored object does not decode: %v", err))
	}
	return m
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func fieldString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	default:
		return fmt.Sprint(x)
	}
}

// newUID returns a random RFC 4122 version 4 UUID, as the apiserver assigns.
func newUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomSuffix is what generateName appends: five lowercase consonants or digits.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}
