package main

import (
	"net/http"
	"sync"
	"time"
)

// logEntry is one API request as the tests see it. It is recorded when the
// response status is decided (for a watch: when the stream starts; for a
// hang: at once, with status 0).
type logEntry struct {
	Seq       uint64 `json:"seq"`
	Time      string `json:"time"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Verb      string `json:"verb"`
	Resource  string `json:"resource,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	User      string `json:"user,omitempty"`
	Status    int    `json:"status"`
	Fault     string `json:"fault,omitempty"`
}

// requestLog keeps the most recent entries, up to a bound.
type requestLog struct {
	mu      sync.Mutex
	entries []logEntry
	seq     uint64
	max     int
}

func newRequestLog(max int) *requestLog { return &requestLog{max: max} }

func (l *requestLog) add(e logEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	e.Seq = l.seq
	e.Time = time.Now().UTC().Format(time.RFC3339Nano)
	if len(l.entries) >= l.max {
		l.entries = append(l.entries[:0], l.entries[len(l.entries)-l.max/2:]...)
	}
	l.entries = append(l.entries, e)
}

// list returns the entries matching every non-empty criterion.
func (l *requestLog) list(verb, resource string) []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []logEntry{}
	for _, e := range l.entries {
		if (verb == "" || e.Verb == verb) && (resource == "" || e.Resource == resource) {
			out = append(out, e)
		}
	}
	return out
}

func (l *requestLog) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}

// loggingWriter records the request's log entry when the status is written.
type loggingWriter struct {
	http.ResponseWriter
	log    *requestLog
	entry  *logEntry
	logged bool
}

func (w *loggingWriter) WriteHeader(code int) {
	if !w.logged {
		w.logged = true
		w.entry.Status = code
		w.log.add(*w.entry)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *loggingWriter) Write(b []byte) (int, error) {
	if !w.logged {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *loggingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logNoResponse records a request that gets no answer at all.
func (w *loggingWriter) logNoResponse() {
	if !w.logged {
		w.logged = true
		w.entry.Status = 0
		w.log.add(*w.entry)
	}
}
