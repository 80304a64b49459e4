package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Store holds the objects of every resource, one global resourceVersion
// counter (like etcd's revision: every change takes the next number) and
// the bounded history of changes that watches and paginated lists read.
type Store struct {
	mu      sync.RWMutex
	rv      uint64
	colls   map[*Resource]*collection
	hist    *history
	changed chan struct{} // closed and replaced whenever events are appended
	now     func() time.Time
}

type collection struct {
	objs map[string]*Object
	keys []string // sorted keys; nil when an add or delete made it stale
}

func (c *collection) sortedKeys() []string {
	if c.keys == nil {
		c.keys = make([]string, 0, len(c.objs))
		for k := range c.objs {
			c.keys = append(c.keys, k)
		}
		sort.Strings(c.keys)
	}
	return c.keys
}

// errTooOld: the requested resourceVersion is older than the history holds.
var errTooOld = errors.New("too old resource version")

func newStore(historySize int) *Store {
	s := &Store{colls: map[*Resource]*collection{}, hist: newHistory(historySize), changed: make(chan struct{}), now: time.Now}
	for _, r := range resourceTable {
		s.colls[r] = &collection{objs: map[string]*Object{}}
	}
	return s
}

// CurrentRV is the newest resourceVersion.
func (s *Store) CurrentRV() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rv
}

// Changed returns a channel closed when the next events are appended.
func (s *Store) Changed() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// Floor is the oldest resourceVersion a watch or continue may start from.
func (s *Store) Floor() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hist.base
}

// appendLocked records an event at the next resourceVersion (already in
// ev.Obj.RV) and makes it the current state.
func (s *Store) appendLocked(ev Event) {
	s.rv = ev.Obj.RV
	c := s.colls[ev.Obj.Res]
	key := ev.Obj.Key()
	_, existed := c.objs[key]
	if ev.Type == "DELETED" {
		delete(c.objs, key)
		c.keys = nil
	} else {
		c.objs[key] = ev.Obj
		if !existed {
			c.keys = nil
		}
	}
	s.hist.append(ev)
}

func (s *Store) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Upsert creates or replaces an object given as decoded JSON (numbers as
// json.Number). It fills what the real server fills: uid,
// creationTimestamp, generation (bumped when spec changes) and
// resourceVersion. An update identical to the stored object changes
// nothing and records no event, as with the real server.
func (s *Store) Upsert(data map[string]any) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, err := s.upsertLocked(data)
	if ev.Type != "" {
		s.notifyLocked()
	}
	return ev, err
}

// UpsertBatch is Upsert for many objects under one lock, waking watchers once.
func (s *Store) UpsertBatch(datas []map[string]any) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := 0
	defer func() {
		if changed > 0 {
			s.notifyLocked()
		}
	}()
	for _, d := range datas {
		ev, err := s.upsertLocked(d)
		if err != nil {
			return changed, err
		}
		if ev.Type != "" {
			changed++
		}
	}
	return changed, nil
}

// upsertLocked stores one object; an Event with an empty Type means the
// object was already stored exactly so.
func (s *Store) upsertLocked(data map[string]any) (Event, error) {
	apiVersion, _ := data["apiVersion"].(string)
	kind, _ := data["kind"].(string)
	res := resourceForKind(apiVersion, kind)
	if res == nil {
		return Event{}, fmt.Errorf("no resource is served for apiVersion %q kind %q", apiVersion, kind)
	}
	meta, _ := data["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		data["metadata"] = meta
	}
	name, _ := meta["name"].(string)
	if name == "" {
		gen, _ := meta["generateName"].(string)
		if gen == "" {
			return Event{}, fmt.Errorf("%s: metadata.name or metadata.generateName is required", kind)
		}
		name = gen + randomSuffix()
		meta["name"] = name
	}
	if res.Namespaced {
		if ns, _ := meta["namespace"].(string); ns == "" {
			meta["namespace"] = "default"
		}
	} else {
		delete(meta, "namespace")
	}
	ns, _ := meta["namespace"].(string)

	prev := s.colls[res].objs[objectKey(res, ns, name)]
	if prev != nil {
		pdata := prev.Data()
		pmeta, _ := pdata["metadata"].(map[string]any)
		meta["uid"] = pmeta["uid"]
		meta["creationTimestamp"] = pmeta["creationTimestamp"]
		gen := int64(1)
		if n, ok := pmeta["generation"].(json.Number); ok {
			gen, _ = n.Int64()
		}
		if !reflect.DeepEqual(data["spec"], pdata["spec"]) {
			gen++
		}
		meta["generation"] = json.Number(strconv.FormatInt(gen, 10))
		meta["resourceVersion"] = strconv.FormatUint(prev.RV, 10)
		if reflect.DeepEqual(data, pdata) {
			return Event{Obj: prev}, nil
		}
	} else {
		if uid, _ := meta["uid"].(string); uid == "" {
			meta["uid"] = newUID()
		}
		if ts, _ := meta["creationTimestamp"].(string); ts == "" {
			meta["creationTimestamp"] = s.now().UTC().Format(time.RFC3339)
		}
		if _, ok := meta["generation"]; !ok {
			meta["generation"] = json.Number("1")
		}
	}
	obj, err := newObject(res, data, s.rv+1)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Type: "ADDED", Obj: obj, Prev: prev}
	if prev != nil {
		ev.Type = "MODIFIED"
	}
	s.appendLocked(ev)
	return ev, nil
}

// Delete removes an object; the DELETED event carries its last state with
// the deletion's resourceVersion.
func (s *Store) Delete(res *Resource, namespace, name string) (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.colls[res].objs[objectKey(res, namespace, name)]
	if prev == nil {
		return Event{}, false
	}
	ev := Event{Type: "DELETED", Obj: prev.withRV(s.rv + 1), Prev: prev}
	s.appendLocked(ev)
	s.notifyLocked()
	return ev, true
}

// Get returns the current version of one object.
func (s *Store) Get(res *Resource, namespace, name string) *Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.colls[res].objs[objectKey(res, namespace, name)]
}

// Current returns the objects of res in key order and the resourceVersion
// they are current at.
func (s *Store) Current(res *Resource) ([]*Object, uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.currentLocked(res), s.rv
}

func (s *Store) currentLocked(res *Resource) []*Object {
	c := s.colls[res]
	keys := c.sortedKeys()
	out := make([]*Object, len(keys))
	for i, k := range keys {
		out[i] = c.objs[k]
	}
	return out
}

// StateAt returns the objects of res as they were at resourceVersion rv, in
// key order, rebuilt by undoing the newer events; errTooOld when the
// history no longer reaches back to rv. This is what gives paginated lists
// the consistent snapshot etcd gives them, until compaction.
func (s *Store) StateAt(res *Resource, rv uint64) ([]*Object, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if rv >= s.rv {
		return s.currentLocked(res), nil
	}
	if !s.hist.holds(rv) {
		return nil, errTooOld
	}
	c := s.colls[res]
	objs := make(map[string]*Object, len(c.objs))
	for k, o := range c.objs {
		objs[k] = o
	}
	for v := s.rv; v > rv; v-- {
		ev := s.hist.at(v)
		if ev.Obj.Res != res {
			continue
		}
		if ev.Prev == nil {
			delete(objs, ev.Obj.Key())
		} else {
			objs[ev.Obj.Key()] = ev.Prev
		}
	}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*Object, len(keys))
	for i, k := range keys {
		out[i] = objs[k]
	}
	return out, nil
}

// EventsAfter copies up to max events newer than rv into buf and returns
// them with the channel that is closed when more arrive. errTooOld when
// events after rv were already evicted.
func (s *Store) EventsAfter(rv uint64, max int, buf []Event) ([]Event, <-chan struct{}, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	buf = buf[:0]
	if !s.hist.holds(rv) {
		return buf, s.changed, errTooOld
	}
	for v := rv + 1; v <= s.rv && len(buf) < max; v++ {
		buf = append(buf, s.hist.at(v))
	}
	return buf, s.changed, nil
}

// Compact forgets the history: any older resourceVersion is now 410.
func (s *Store) Compact() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hist.compact()
	return s.hist.base
}

// HistoryInfo reports the history window.
func (s *Store) HistoryInfo() (floor, newest uint64, capacity int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hist.base, s.rv, s.hist.capacity()
}

// ResizeHistory changes how many events the history holds.
func (s *Store) ResizeHistory(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hist.resize(n)
}

// GenerateModified appends count MODIFIED events, cycling over the objects
// of res (of one namespace when given) in key order. Each new version
// differs from the previous one only in its resourceVersion, so it is a
// splice of bytes, not a serialization: the generator is never the
// bottleneck of a benchmark. Before each batch, throttle is called with
// the newest resourceVersion and may wait (the watchers' back-pressure).
func (s *Store) GenerateModified(res *Resource, namespace string, count int, throttle func(newest uint64)) (first, last uint64, n int, err error) {
	s.mu.RLock()
	var keys []string
	for _, k := range s.colls[res].sortedKeys() {
		if namespace == "" || s.colls[res].objs[k].Namespace == namespace {
			keys = append(keys, k)
		}
	}
	s.mu.RUnlock()
	if len(keys) == 0 {
		return 0, 0, 0, fmt.Errorf("no %s to modify", res.Plural)
	}
	const batch = 256
	for done := 0; done < count; {
		throttle(s.CurrentRV())
		s.mu.Lock()
		c := s.colls[res]
		for i := 0; i < batch && done < count; i++ {
			prev := c.objs[keys[done%len(keys)]]
			done++
			if prev == nil { // deleted meanwhile
				continue
			}
			ev := Event{Type: "MODIFIED", Obj: prev.withRV(s.rv + 1), Prev: prev}
			s.appendLocked(ev)
			if first == 0 {
				first = ev.Obj.RV
			}
			last = ev.Obj.RV
			n++
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
	return first, last, n, nil
}
