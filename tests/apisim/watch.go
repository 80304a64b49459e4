package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// watchCmd is an order the control API sends to an open watch.
type watchCmd struct {
	kind string // drop, gone-event, malformed, bookmark
	mode string // drop: close (end the stream cleanly) or reset (abort the connection)
}

// watcher is one open watch stream.
type watcher struct {
	id        uint64
	res       *Resource
	filter    *filter
	bookmarks bool
	remote    string
	user      string
	query     string
	started   time.Time
	ctl       chan watchCmd
	pos       atomic.Uint64 // the last resourceVersion this watch has processed
	sent      atomic.Uint64 // events written
}

// watchHub knows the open watches, for stream faults, bookmarks on request,
// the generator's back-pressure and GET /watches.
type watchHub struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
	nextID   uint64
}

func newWatchHub() *watchHub { return &watchHub{watchers: map[*watcher]struct{}{}} }

func (h *watchHub) add(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	w.id = h.nextID
	h.watchers[w] = struct{}{}
}

func (h *watchHub) remove(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers, w)
}

// matching returns the open watches of res (all when res is nil), oldest first.
func (h *watchHub) matching(res *Resource) []*watcher {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*watcher
	for w := range h.watchers {
		if res == nil || w.res == res {
			out = append(out, w)
		}
	}
	sortWatchers(out)
	return out
}

// send delivers a command to the matching watches; it returns how many got it.
func (h *watchHub) send(res *Resource, cmd watchCmd, onlyBookmarks bool) int {
	n := 0
	for _, w := range h.matching(res) {
		if onlyBookmarks && !w.bookmarks {
			continue
		}
		select {
		case w.ctl <- cmd:
			n++
		default: // a watch with a full command queue misses this one
		}
	}
	return n
}

func sortWatchers(ws []*watcher) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].id < ws[j].id })
}

// watchStream writes one watch's events: one JSON object per line, flushed
// per batch, so many events share one chunk.
type watchStream struct {
	w       *watcher
	bw      *bufio.Writer
	flush   http.Flusher
	table   bool
	slow    time.Duration
	r       *http.Request
	done    <-chan struct{}
	pending *fault // a stream fault armed for this watch (scope next)
}

func (ws *watchStream) writeEvent(typ string, obj *Object) {
	ws.bw.WriteString(`{"type":"`)
	ws.bw.WriteString(typ)
	ws.bw.WriteString(`","object":`)
	if ws.table {
		b, err := buildTable(obj.Res, []*Object{obj}, listMeta{ResourceVersion: strconv.FormatUint(obj.RV, 10)}, ws.r.URL.Query().Get("includeObject"), time.Now())
		if err != nil {
			b = obj.Raw()
		}
		ws.bw.Write(b)
	} else {
		ws.bw.Write(obj.Raw())
	}
	ws.bw.WriteString("}\n")
	ws.w.sent.Add(1)
	if ws.slow > 0 {
		ws.commit()
		sleepOrDone(ws.r, ws.done, ws.slow)
	}
}

func (ws *watchStream) writeRaw(typ string, object []byte) {
	ws.bw.WriteString(`{"type":"`)
	ws.bw.WriteString(typ)
	ws.bw.WriteString(`","object":`)
	ws.bw.Write(object)
	ws.bw.WriteString("}\n")
}

func (ws *watchStream) writeStatus(st *Status) {
	b, _ := json.Marshal(st)
	ws.writeRaw("ERROR", b)
	ws.commit()
}

// writeBookmark sends a BOOKMARK at resourceVersion rv; initialEnd marks
// the end of the initial events of a sendInitialEvents watch.
func (ws *watchStream) writeBookmark(rv uint64, initialEnd bool) {
	meta := map[string]any{"resourceVersion": strconv.FormatUint(rv, 10)}
	if initialEnd {
		meta["annotations"] = map[string]string{"k8s.io/initial-events-end": "true"}
	}
	b, _ := json.Marshal(map[string]any{"kind": ws.w.res.Kind, "apiVersion": ws.w.res.GroupVersion(), "metadata": meta})
	ws.writeRaw("BOOKMARK", b)
}

func (ws *watchStream) commit() {
	ws.bw.Flush()
	ws.flush.Flush()
}

// translate maps a stored event to what this watch sees, as the watch cache
// does with selectors: an object leaving the selection is DELETED for it,
// one entering it is ADDED.
func (w *watcher) translate(ev Event) (string, *Object) {
	if ev.Obj.Res != w.res {
		return "", nil
	}
	switch ev.Type {
	case "ADDED":
		if w.filter.matches(ev.Obj) {
			return "ADDED", ev.Obj
		}
	case "MODIFIED":
		cur, prev := w.filter.matches(ev.Obj), ev.Prev != nil && w.filter.matches(ev.Prev)
		switch {
		case cur && prev:
			return "MODIFIED", ev.Obj
		case cur:
			return "ADDED", ev.Obj
		case prev:
			return "DELETED", ev.Obj
		}
	case "DELETED":
		if w.filter.matches(ev.Obj) {
			return "DELETED", ev.Obj
		}
	}
	return "", nil
}

// watchParams are a watch request's query parameters, validated.
type watchParams struct {
	bookmarks  bool          // allowWatchBookmarks
	initial    bool          // start with the current objects as ADDED events
	initialEnd bool          // sendInitialEvents: a BOOKMARK marks the end of them
	from       uint64        // otherwise replay the history after this resourceVersion
	timeout    time.Duration // timeoutSeconds, or the real server's random 30-60 min
}

func parseWatchParams(q url.Values) (watchParams, *Status) {
	var p watchParams
	p.bookmarks, _ = strconv.ParseBool(q.Get("allowWatchBookmarks"))
	rv, match := q.Get("resourceVersion"), q.Get("resourceVersionMatch")
	p.initial = rv == "" || rv == "0"
	if q.Has("sendInitialEvents") {
		p.initial, _ = strconv.ParseBool(q.Get("sendInitialEvents"))
		p.initialEnd = p.initial
		if match != "NotOlderThan" {
			return p, statusBadRequest("resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan")
		}
		if p.initial && !p.bookmarks {
			return p, statusBadRequest("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true")
		}
	} else if match != "" {
		return p, statusBadRequest("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
	}
	if rv != "" && rv != "0" {
		n, err := strconv.ParseUint(rv, 10, 64)
		if err != nil {
			return p, statusBadRequest(fmt.Sprintf("invalid resource version: %q", rv))
		}
		p.from = n
	}
	p.timeout = time.Duration(1800+rand.Intn(1800)) * time.Second
	if t := q.Get("timeoutSeconds"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return p, statusBadRequest(fmt.Sprintf("invalid timeoutSeconds: %q", t))
		}
		if n > 0 {
			p.timeout = time.Duration(n) * time.Second
		}
	}
	return p, nil
}

// serveWatch streams the changes of a resource. resourceVersion "" or "0"
// (or sendInitialEvents=true) starts with the current objects as ADDED
// events; a resourceVersion N replays the history after N, or fails with
// 410 when the history no longer reaches N: as an ERROR event in a 200
// stream (the real server's way) or, when configured, as an HTTP 410.
func (s *Server) serveWatch(lw *loggingWriter, r *http.Request, req *apiRequest, slow time.Duration) {
	var p watchParams
	f, st := parseFilter(r, req)
	if st == nil {
		p, st = parseWatchParams(r.URL.Query())
	}
	if st != nil {
		writeStatus(lw, st)
		return
	}
	var snapshot []*Object
	if p.initial {
		snapshot, p.from = s.store.Current(req.res)
	} else if p.from == 0 {
		p.from = s.store.CurrentRV() // resourceVersion "" or "0" without initial events
	}
	floor := s.store.Floor()
	if p.from < floor && s.getTooOldAsHTTP() {
		writeStatus(lw, statusTooOld(p.from, floor))
		return
	}

	w := &watcher{res: req.res, filter: f, bookmarks: p.bookmarks, remote: r.RemoteAddr, user: lw.entry.User,
		query: r.URL.RawQuery, started: time.Now(), ctl: make(chan watchCmd, 16)}
	w.pos.Store(p.from)
	s.hub.add(w)
	defer s.hub.remove(w)

	lw.Header().Set("Content-Type", "application/json")
	lw.WriteHeader(http.StatusOK)
	ws := &watchStream{w: w, bw: bufio.NewWriterSize(lw, 64<<10), flush: lw, table: wantsTable(r.Header.Get("Accept")), slow: slow, r: r, done: s.done}
	ws.commit()
	if p.from < floor {
		ws.writeStatus(statusTooOld(p.from, floor))
		return
	}
	ws.pending = s.faults.take(streamFaults, req.res, "watch", false)
	if ws.pending != nil {
		s.logf("fault %s armed on watch %d (%s) after %d events", ws.pending.Fault, w.id, req.res.Plural, ws.pending.AfterEvents)
	}

	for _, o := range snapshot {
		if f.matches(o) {
			ws.writeEvent("ADDED", o)
			if ws.pending != nil && ws.pending.AfterEvents > 0 && s.firePending(ws, false) {
				return
			}
		}
	}
	if p.initialEnd {
		ws.writeBookmark(p.from, true)
	}
	ws.commit()
	if s.firePending(ws, true) {
		return
	}
	s.streamEvents(ws, r, p)
}

// firePending acts out a stream fault armed for this watch once it has
// sent its afterEvents events (or at the end of the initial events).
func (s *Server) firePending(ws *watchStream, endOfInitial bool) bool {
	f := ws.pending
	if f == nil || (!endOfInitial && ws.w.sent.Load() < uint64(f.AfterEvents)) {
		return false
	}
	ws.pending = nil
	return s.actOnWatch(ws, watchCmd{kind: f.Fault, mode: f.Mode})
}

// streamEvents writes the events after p.from as they come, in batches of
// up to 1024 per flush, with periodic bookmarks, until the timeout, the
// client leaving, shutdown or a control order ends the stream.
func (s *Server) streamEvents(ws *watchStream, r *http.Request, p watchParams) {
	w := ws.w
	deadline := time.NewTimer(p.timeout)
	defer deadline.Stop()
	var tick <-chan time.Time
	if p.bookmarks {
		if iv := s.getBookmarkInterval(); iv > 0 {
			t := time.NewTicker(iv)
			defer t.Stop()
			tick = t.C
		}
	}
	buf := make([]Event, 0, 1024)
	pos := p.from
	for {
		evs, changed, err := s.store.EventsAfter(pos, cap(buf), buf)
		if err != nil {
			// Fell out of the history window: the real watch cache closes
			// such a slow watcher; the client re-watches and gets a 410.
			s.logf("watch %d (%s) fell behind the history at %d; closing it", w.id, w.res.Plural, pos)
			ws.commit()
			return
		}
		for _, ev := range evs {
			pos = ev.Obj.RV
			if typ, obj := w.translate(ev); typ != "" {
				ws.writeEvent(typ, obj)
				if s.firePending(ws, false) {
					return
				}
			}
		}
		w.pos.Store(pos)
		if len(evs) > 0 {
			ws.commit()
		}
		if len(evs) == cap(buf) {
			// A full batch: more are waiting. Only look at orders and ends.
			select {
			case cmd := <-w.ctl:
				if s.actOnWatch(ws, cmd) {
					return
				}
			case <-deadline.C:
				return
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			default:
			}
			continue
		}
		select {
		case <-changed: // closed already if events came after this read
		case cmd := <-w.ctl:
			if s.actOnWatch(ws, cmd) {
				return
			}
		case <-tick:
			ws.writeBookmark(pos, false)
			ws.commit()
		case <-deadline.C:
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// actOnWatch carries out a control order on a watch; true when the stream
// must end.
func (s *Server) actOnWatch(ws *watchStream, cmd watchCmd) bool {
	switch cmd.kind {
	case "drop":
		ws.commit()
		if cmd.mode == "reset" {
			panic(http.ErrAbortHandler) // cut the connection mid-stream
		}
		return true
	case "gone-event":
		pos := ws.w.pos.Load()
		ws.writeStatus(statusTooOld(pos, pos+1))
		return true
	case "malformed":
		ws.bw.WriteString(`{"type":"MODIFIED","object":{"kind":"` + ws.w.res.Kind + `","metadata":{"name":` + "\n")
		ws.commit()
	case "bookmark":
		if ws.w.bookmarks {
			ws.writeBookmark(ws.w.pos.Load(), false)
			ws.commit()
		}
	}
	return false
}
