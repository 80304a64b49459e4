package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiRequest is a parsed resource request path.
type apiRequest struct {
	res       *Resource
	namespace string
	name      string
	verb      string // get, list, watch
}

// ServeHTTP serves the Kubernetes API: public health and version
// endpoints, discovery, and GET on resources; everything behind bearer
// token or client certificate authentication.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lw := &loggingWriter{ResponseWriter: w, log: s.reqlog, entry: &logEntry{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Verb: strings.ToLower(r.Method)}}
	w.Header().Set("Cache-Control", "no-cache, private")
	s.debugf("%s %s", r.Method, r.URL.RequestURI())

	switch r.URL.Path {
	case "/version":
		s.serveVersion(lw)
		return
	case "/healthz", "/livez", "/readyz":
		lw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		lw.WriteHeader(http.StatusOK)
		lw.Write([]byte("ok"))
		return
	}

	user, token, ok := s.auth.Authenticate(r)
	if !ok {
		writeStatus(lw, statusUnauthorized())
		return
	}
	lw.entry.User = user

	if s.serveDiscovery(lw, r) {
		return
	}
	req, st := parseResourcePath(r)
	if st != nil {
		writeStatus(lw, st)
		return
	}
	if req == nil {
		lw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		lw.WriteHeader(http.StatusNotFound)
		lw.Write([]byte("404 page not found\n"))
		return
	}
	lw.entry.Verb, lw.entry.Resource, lw.entry.Namespace, lw.entry.Name = req.verb, req.res.Plural, req.namespace, req.name
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeStatus(lw, statusMethodNotAllowed())
		return
	}
	if !s.auth.Allowed(token, req.res, req.verb) {
		writeStatus(lw, statusForbidden(req.res, req.verb, user, req.namespace, req.name))
		return
	}
	var slow time.Duration
	if f := s.faults.take(requestFaults, req.res, req.verb, r.URL.Query().Get("continue") != ""); f != nil {
		lw.entry.Fault = f.Fault
		s.logf("fault %s on %s %s", f.Fault, req.verb, r.URL.RequestURI())
		if f.Fault == "slow" {
			slow = f.delay
		}
		if s.applyRequestFault(lw, r, req, f) {
			return
		}
	}
	switch req.verb {
	case "get":
		s.serveGet(lw, r, req)
	case "list":
		s.serveList(lw, r, req)
	case "watch":
		s.serveWatch(lw, r, req, slow)
	}
}

// applyRequestFault acts out a request fault; true when the request is
// answered (or abandoned) by it, false when it only slows the answer down.
func (s *Server) applyRequestFault(w *loggingWriter, r *http.Request, req *apiRequest, f *fault) bool {
	switch f.Fault {
	case "hang":
		w.logNoResponse()
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		panic(http.ErrAbortHandler) // never answer, not even with an empty 200
	case "slow":
		if req.verb == "watch" {
			return false // the watch delays each event instead
		}
		sleepOrDone(r, s.done, f.delay)
		return false
	case "expire-continue":
		tok, _ := decodeContinue(r.URL.Query().Get("continue"))
		writeStatus(w, statusContinueExpired(encodeContinue(-1, tok.Start)))
		return true
	}
	requested, _ := strconv.ParseUint(r.URL.Query().Get("resourceVersion"), 10, 64)
	writeStatus(w, f.status(requested, s.store.Floor()))
	return true
}

func sleepOrDone(r *http.Request, done <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	case <-done:
	}
}

// parseResourcePath splits /api/v1/... and /apis/g/v/... paths. It returns
// nil, nil for paths that are not resource paths at all (a plain 404).
func parseResourcePath(r *http.Request) (*apiRequest, *Status) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var group, version string
	var rest []string
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		version, rest = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		group, version, rest = parts[1], parts[2], parts[3:]
	default:
		return nil, nil
	}
	watchPath := false
	if rest[0] == "watch" {
		watchPath, rest = true, rest[1:]
	}
	req := &apiRequest{}
	var plural string
	switch {
	case len(rest) >= 3 && rest[0] == "namespaces":
		req.namespace, plural = rest[1], rest[2]
		if len(rest) == 4 {
			req.name = rest[3]
		} else if len(rest) > 4 {
			return nil, notFoundPath()
		}
	case len(rest) == 1 || len(rest) == 2:
		plural = rest[0]
		if len(rest) == 2 {
			req.name = rest[1]
		}
	default:
		return nil, notFoundPath()
	}
	req.res = findResource(group, version, plural)
	if req.res == nil || (req.namespace != "" && !req.res.Namespaced) || (req.namespace == "" && req.name != "" && req.res.Namespaced) {
		return nil, notFoundPath()
	}
	watch := watchPath
	if v := r.URL.Query().Get("watch"); v != "" {
		watch, _ = strconv.ParseBool(v)
	}
	switch {
	case watch:
		req.verb = "watch"
	case req.name != "":
		req.verb = "get"
	default:
		req.verb = "list"
	}
	return req, nil
}

func notFoundPath() *Status {
	return failure(http.StatusNotFound, "NotFound", "the server could not find the requested resource")
}

// parseFilter reads the namespace and the selectors of a list or watch.
func parseFilter(r *http.Request, req *apiRequest) (*filter, *Status) {
	f := &filter{namespace: req.namespace}
	q := r.URL.Query()
	var err error
	if f.labels, err = parseLabelSelector(q.Get("labelSelector")); err != nil {
		return nil, statusBadRequest(err.Error())
	}
	if f.fields, err = parseFieldSelector(q.Get("fieldSelector"), req.res); err != nil {
		return nil, statusBadRequest(err.Error())
	}
	if req.name != "" { // a watch on one object is a watch filtered by name
		f.fields = append(f.fields, fieldRequirement{field: "metadata.name", value: req.name})
	}
	return f, nil
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, req *apiRequest) {
	obj := s.store.Get(req.res, req.namespace, req.name)
	if obj == nil {
		writeStatus(w, statusNotFound(req.res, req.name))
		return
	}
	if wantsTable(r.Header.Get("Accept")) {
		b, err := buildTable(req.res, []*Object{obj}, listMeta{ResourceVersion: strconv.FormatUint(obj.RV, 10)}, r.URL.Query().Get("includeObject"), time.Now())
		if err != nil {
			writeStatus(w, failure(http.StatusInternalServerError, "InternalError", err.Error()))
			return
		}
		writeBody(w, http.StatusOK, b)
		return
	}
	writeBody(w, http.StatusOK, obj.Raw())
}

// continueToken is the real server's continue token: base64 of JSON with
// the list's resourceVersion and the key to start after.
type continueToken struct {
	V     string `json:"v"`
	RV    int64  `json:"rv"`
	Start string `json:"start"`
}

func encodeContinue(rv int64, start string) string {
	b, _ := json.Marshal(continueToken{V: "meta.k8s.io/v1", RV: rv, Start: start})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, fmt.Errorf("continue key is not valid: %v", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("continue key is not valid: %v", err)
	}
	if t.V != "meta.k8s.io/v1" {
		return t, fmt.Errorf("continue key is not valid: server does not recognize this encoded key")
	}
	return t, nil
}

// serveList answers a LIST: the current state, or for a continue token the
// state at the token's resourceVersion (410 Expired once the history no
// longer reaches it), one page of at most limit matching items.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request, req *apiRequest) {
	q := r.URL.Query()
	f, st := parseFilter(r, req)
	if st != nil {
		writeStatus(w, st)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	var objs []*Object
	var listRV uint64
	start := ""
	rvParam, match := q.Get("resourceVersion"), q.Get("resourceVersionMatch")

	if cont := q.Get("continue"); cont != "" {
		if rvParam != "" && rvParam != "0" {
			writeStatus(w, statusBadRequest("specifying resource version is not allowed when using continue"))
			return
		}
		tok, err := decodeContinue(cont)
		if err != nil {
			writeStatus(w, statusBadRequest(err.Error()))
			return
		}
		start = tok.Start
		if tok.RV < 0 { // the inconsistent continuation the real server offers
			objs, listRV = s.store.Current(req.res)
		} else {
			listRV = uint64(tok.RV)
			if objs, err = s.store.StateAt(req.res, listRV); err != nil {
				writeStatus(w, statusContinueExpired(encodeContinue(-1, start)))
				return
			}
		}
	} else {
		var want uint64
		if rvParam != "" {
			n, err := strconv.ParseUint(rvParam, 10, 64)
			if err != nil {
				writeStatus(w, statusBadRequest(fmt.Sprintf("invalid resource version: %q", rvParam)))
				return
			}
			want = n
		}
		switch match {
		case "":
		case "Exact", "NotOlderThan":
			if rvParam == "" {
				writeStatus(w, statusBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided"))
				return
			}
		default:
			writeStatus(w, statusBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q", match)))
			return
		}
		if want > s.store.CurrentRV() && !s.waitForRV(r, want, 3*time.Second) {
			st := failure(http.StatusGatewayTimeout, "Timeout", fmt.Sprintf("Too large resource version: %d, current: %d", want, s.store.CurrentRV()))
			st.Details = &StatusDetails{RetryAfterSeconds: 1}
			writeStatus(w, st)
			return
		}
		if rvParam == "0" && match == "" {
			// Served from the watch cache, which ignores limit (until
			// Kubernetes 1.33): everything, in one page.
			limit = 0
		}
		if match == "Exact" {
			var err error
			if objs, err = s.store.StateAt(req.res, want); err != nil {
				writeStatus(w, statusTooOld(want, s.store.Floor()))
				return
			}
			listRV = want
		} else {
			objs, listRV = s.store.Current(req.res)
		}
	}

	// One page: matching items from the start key on, up to limit.
	i := sort.Search(len(objs), func(i int) bool { return objs[i].Key() >= start })
	var items []*Object
	meta := listMeta{ResourceVersion: strconv.FormatUint(listRV, 10)}
	for ; i < len(objs); i++ {
		o := objs[i]
		if !f.matches(o) {
			continue
		}
		items = append(items, o)
		if limit > 0 && len(items) == limit {
			remaining := 0
			for _, rest := range objs[i+1:] {
				if f.namespace == "" || rest.Namespace == f.namespace {
					remaining++
				}
			}
			if remaining > 0 {
				meta.Continue = encodeContinue(int64(listRV), o.Key()+"\x00")
				if !f.hasSelectors() {
					meta.RemainingItemCount = &remaining
				}
			}
			break
		}
	}

	if wantsTable(r.Header.Get("Accept")) {
		b, err := buildTable(req.res, items, meta, q.Get("includeObject"), time.Now())
		if err != nil {
			writeStatus(w, failure(http.StatusInternalServerError, "InternalError", err.Error()))
			return
		}
		writeBody(w, http.StatusOK, b)
		return
	}
	writeList(w, req.res, meta, items)
}

// writeList streams a List without building it in memory twice.
func writeList(w http.ResponseWriter, res *Resource, meta listMeta, items []*Object) {
	metaJSON, _ := json.Marshal(meta)
	head := fmt.Sprintf(`{"kind":%q,"apiVersion":%q,"metadata":%s,"items":[`, res.Kind+"List", res.GroupVersion(), metaJSON)
	const tail = "]}\n"
	size := len(head) + len(tail)
	for i, o := range items {
		if i > 0 {
			size++
		}
		size += len(o.Item())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(head)
	for i, o := range items {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(o.Item())
	}
	bw.WriteString(tail)
	bw.Flush()
}

// waitForRV waits until the store reaches rv, like the real server does for
// a list "not older than" a resourceVersion it has not seen yet.
func (s *Server) waitForRV(r *http.Request, rv uint64, max time.Duration) bool {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	for {
		changed := s.store.Changed()
		if s.store.CurrentRV() >= rv {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		case <-r.Context().Done():
			return false
		}
	}
}
