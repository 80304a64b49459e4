package main

// Event is one change, at resourceVersion Obj.RV. Prev is the version it
// replaced (nil for ADDED); for DELETED, Obj is the last version stamped
// with the deletion's resourceVersion, as the real server sends it.
type Event struct {
	Type string
	Obj  *Object
	Prev *Object
}

// history is the bounded window of recent events, like the watch cache (or
// etcd before compaction). Every resourceVersion is one event, so the events
// held are exactly base+1 .. base+count, in a ring.
type history struct {
	ring  []Event
	start int    // ring index of the event base+1
	count int    // events held
	base  uint64 // the newest resourceVersion no longer held
}

func newHistory(capacity int) *history {
	if capacity < 1 {
		capacity = 1
	}
	return &history{ring: make([]Event, capacity)}
}

func (h *history) capacity() int { return len(h.ring) }

// append adds the event of the next resourceVersion, evicting the oldest
// when full.
func (h *history) append(ev Event) {
	if h.count == len(h.ring) {
		h.ring[h.start] = Event{}
		h.start = (h.start + 1) % len(h.ring)
		h.count--
		h.base++
	}
	h.ring[(h.start+h.count)%len(h.ring)] = ev
	h.count++
}

// at returns the event of resourceVersion rv, which must be held.
func (h *history) at(rv uint64) Event {
	return h.ring[(h.start+int(rv-h.base-1))%len(h.ring)]
}

// holds reports whether every event after rv up to the newest is held.
func (h *history) holds(rv uint64) bool { return rv >= h.base }

// newest is the resourceVersion of the newest event (base when empty).
func (h *history) newest() uint64 { return h.base + uint64(h.count) }

// compact forgets every event: a watch or continue from before now is 410.
func (h *history) compact() {
	for i := range h.ring {
		h.ring[i] = Event{}
	}
	h.base = h.newest()
	h.start, h.count = 0, 0
}

// resize changes the capacity, keeping the newest events that fit.
func (h *history) resize(capacity int) {
	if capacity < 1 {
		capacity = 1
	}
	n := newHistory(capacity)
	keep := h.count
	if keep > capacity {
		keep = capacity
	}
	n.base = h.newest() - uint64(keep)
	for rv := n.base + 1; rv <= h.newest(); rv++ {
		n.append(h.at(rv))
	}
	*h = *n
}
