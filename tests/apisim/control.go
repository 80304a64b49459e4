package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// controlHandler serves the test-facing control API: plain HTTP on
// loopback, JSON in and out, no authentication. README.md documents it.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { ctlJSON(w, http.StatusOK, map[string]bool{"ok": true}) })
	mux.HandleFunc("/info", s.ctlInfo)
	mux.HandleFunc("/config", s.ctlConfig)
	mux.HandleFunc("/objects", s.ctlObjects)
	mux.HandleFunc("/objects/", s.ctlObjects)
	mux.HandleFunc("/reset", s.ctlReset)
	mux.HandleFunc("/bulk", s.ctlBulk)
	mux.HandleFunc("/generate", s.ctlGenerate)
	mux.HandleFunc("/bookmark", s.ctlBookmark)
	mux.HandleFunc("/compact", s.ctlCompact)
	mux.HandleFunc("/faults", s.ctlFaults)
	mux.HandleFunc("/watches", s.ctlWatches)
	mux.HandleFunc("/requests", s.ctlRequests)
	mux.HandleFunc("/token/rotate", s.ctlRotateToken)
	mux.HandleFunc("/tokens", s.ctlTokens)
	mux.HandleFunc("/tokens/", s.ctlTokens)
	return mux
}

func ctlJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func ctlError(w http.ResponseWriter, code int, format string, args ...any) {
	ctlJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// decodeBody decodes a JSON body into v, numbers kept exact; an empty body
// leaves v as it is.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	return nil
}

func methodIs(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	ctlError(w, http.StatusMethodNotAllowed, "%s not allowed here (want %s)", r.Method, strings.Join(methods, " or "))
	return false
}

func (s *Server) ctlInfo(w http.ResponseWriter, r *http.Request) {
	floor, newest, capacity := s.store.HistoryInfo()
	ctlJSON(w, http.StatusOK, map[string]any{
		"apiURL": s.state.apiURL, "controlURL": s.state.controlURL, "stateDir": s.state.dir,
		"resourceVersion": strconv.FormatUint(newest, 10),
		"history":         map[string]any{"floor": strconv.FormatUint(floor, 10), "capacity": capacity},
		"openWatches":     len(s.hub.matching(nil)),
		"token":           s.auth.MainToken(),
	})
}

func (s *Server) ctlConfig(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodGet, http.MethodPut, http.MethodPost) {
		return
	}
	if r.Method != http.MethodGet {
		var c struct {
			BookmarkInterval    *string `json:"bookmarkInterval"`
			TooOld              *string `json:"tooOld"`
			History             *int    `json:"history"`
			AggregatedDiscovery *bool   `json:"aggregatedDiscovery"`
		}
		if err := decodeBody(r, &c); err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		var iv time.Duration
		if c.BookmarkInterval != nil {
			d, err := time.ParseDuration(*c.BookmarkInterval)
			if err != nil || d < 0 {
				ctlError(w, http.StatusBadRequest, "bookmarkInterval: want a duration like 1s")
				return
			}
			iv = d
		}
		if c.TooOld != nil && *c.TooOld != "event" && *c.TooOld != "http" {
			ctlError(w, http.StatusBadRequest, "tooOld must be event or http")
			return
		}
		if c.History != nil && *c.History < 1 {
			ctlError(w, http.StatusBadRequest, "history must be positive")
			return
		}
		s.cfgMu.Lock()
		if c.BookmarkInterval != nil {
			s.bookmarkInterval = iv
		}
		if c.TooOld != nil {
			s.tooOldAsHTTP = *c.TooOld == "http"
		}
		if c.AggregatedDiscovery != nil {
			s.aggregatedDiscovery = *c.AggregatedDiscovery
		}
		s.cfgMu.Unlock()
		if c.History != nil {
			s.store.ResizeHistory(*c.History)
		}
	}
	ctlJSON(w, http.StatusOK, s.config())
}

type upsertResult struct {
	Type            string `json:"type"`
	Resource        string `json:"resource"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name"`
	ResourceVersion string `json:"resourceVersion"`
}

func eventResult(ev Event) upsertResult {
	typ := ev.Type
	if typ == "" {
		typ = "UNCHANGED"
	}
	return upsertResult{Type: typ, Resource: ev.Obj.Res.Plural, Namespace: ev.Obj.Namespace, Name: ev.Obj.Name, ResourceVersion: strconv.FormatUint(ev.Obj.RV, 10)}
}

// ctlObjects: POST /objects upserts an object or a List; GET and DELETE
// /objects/RESOURCE[/NAMESPACE]/NAME read and delete.
func (s *Server) ctlObjects(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/objects"), "/"), "/")
	if parts[0] == "" {
		if !methodIs(w, r, http.MethodPost, http.MethodPut) {
			return
		}
		var body map[string]any
		if err := decodeBody(r, &body); err != nil || body == nil {
			ctlError(w, http.StatusBadRequest, "want a JSON object or List: %v", err)
			return
		}
		items, err := listItems(body)
		if err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		results := []upsertResult{}
		for _, it := range items {
			ev, err := s.store.Upsert(it)
			if err != nil {
				ctlJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "results": results})
				return
			}
			results = append(results, eventResult(ev))
		}
		ctlJSON(w, http.StatusOK, map[string]any{"resourceVersion": strconv.FormatUint(s.store.CurrentRV(), 10), "results": results})
		return
	}
	res := lookupResource(parts[0])
	if res == nil {
		ctlError(w, http.StatusNotFound, "unknown resource %q", parts[0])
		return
	}
	var ns, name string
	switch {
	case len(parts) == 1:
	case len(parts) == 2 && !res.Namespaced:
		name = parts[1]
	case len(parts) == 3 && res.Namespaced:
		ns, name = parts[1], parts[2]
	default:
		if res.Namespaced {
			ctlError(w, http.StatusBadRequest, "%s are namespaced: use /objects/%s/NAMESPACE/NAME", res.Plural, res.Plural)
		} else {
			ctlError(w, http.StatusBadRequest, "%s are cluster-scoped: use /objects/%s/NAME", res.Plural, res.Plural)
		}
		return
	}
	if !methodIs(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if name != "" {
		if r.Method == http.MethodDelete {
			ev, ok := s.store.Delete(res, ns, name)
			if !ok {
				ctlError(w, http.StatusNotFound, "%s %s not found", res.Plural, objectKey(res, ns, name))
				return
			}
			ctlJSON(w, http.StatusOK, eventResult(ev))
			return
		}
		obj := s.store.Get(res, ns, name)
		if obj == nil {
			ctlError(w, http.StatusNotFound, "%s %s not found", res.Plural, objectKey(res, ns, name))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(append([]byte{}, obj.Raw()...), '\n'))
		return
	}

	q := r.URL.Query()
	f := &filter{namespace: q.Get("namespace")}
	var err error
	if f.labels, err = parseLabelSelector(q.Get("labelSelector")); err == nil {
		f.fields, err = parseFieldSelector(q.Get("fieldSelector"), res)
	}
	if err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	objs, rv := s.store.Current(res)
	var selected []*Object
	for _, o := range objs {
		if f.matches(o) {
			selected = append(selected, o)
		}
	}
	if r.Method == http.MethodDelete {
		results := []upsertResult{}
		for _, o := range selected {
			if ev, ok := s.store.Delete(res, o.Namespace, o.Name); ok {
				results = append(results, eventResult(ev))
			}
		}
		ctlJSON(w, http.StatusOK, map[string]any{"resourceVersion": strconv.FormatUint(s.store.CurrentRV(), 10), "results": results})
		return
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"%d"},"items":[`, rv)
	for i, o := range selected {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(o.Raw())
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// listItems returns the objects of a List (kind List or FooList), filling
// kind and apiVersion of typed-list items from the list, or the object.
func listItems(body map[string]any) ([]map[string]any, error) {
	kind, _ := body["kind"].(string)
	raw, isList := body["items"].([]any)
	if !isList && !strings.HasSuffix(kind, "List") {
		return []map[string]any{body}, nil
	}
	itemKind := strings.TrimSuffix(kind, "List")
	apiVersion, _ := body["apiVersion"].(string)
	var items []map[string]any
	for i, it := range raw {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("items[%d] is not an object", i)
		}
		if _, ok := m["kind"]; !ok && itemKind != "" {
			m["kind"], m["apiVersion"] = itemKind, apiVersion
		}
		items = append(items, m)
	}
	return items, nil
}

// ctlReset brings the objects back to the --fixtures: a fresh start for
// each test without restarting the simulator.
func (s *Server) ctlReset(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	n, err := s.resetToFixtures()
	if err != nil {
		ctlError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	ctlJSON(w, http.StatusOK, map[string]any{"changed": n, "resourceVersion": strconv.FormatUint(s.store.CurrentRV(), 10)})
}

func (s *Server) ctlBulk(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	var req bulkRequest
	if err := decodeBody(r, &req); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	res, err := s.bulkLoad(req)
	if err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.logf("bulk: %d %s loaded in %.3fs", res.Created, req.Resource, res.Seconds)
	ctlJSON(w, http.StatusOK, res)
}

func (s *Server) ctlGenerate(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	var req generateRequest
	if err := decodeBody(r, &req); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	res, err := s.generate(req)
	if err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.logf("generate: %d MODIFIED %s in %.3fs (%.0f/s)", res.Events, req.Resource, res.Seconds, res.EventsPerSecond)
	ctlJSON(w, http.StatusOK, res)
}

// ctlBookmark sends a BOOKMARK now to the open watches that allow them.
func (s *Server) ctlBookmark(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	var req struct {
		Resource string `json:"resource"`
	}
	if err := decodeBody(r, &req); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var res *Resource
	if req.Resource != "" {
		if res = lookupResource(req.Resource); res == nil {
			ctlError(w, http.StatusBadRequest, "unknown resource %q", req.Resource)
			return
		}
	}
	ctlJSON(w, http.StatusOK, map[string]int{"watches": s.hub.send(res, watchCmd{kind: "bookmark"}, true)})
}

func (s *Server) ctlCompact(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	floor := s.store.Compact()
	s.logf("history compacted at resourceVersion %d", floor)
	ctlJSON(w, http.StatusOK, map[string]string{"compactedAt": strconv.FormatUint(floor, 10)})
}

// ctlFaults: GET lists the armed faults, POST arms one (or acts at once for
// open-scope stream faults and compact), DELETE disarms all.
func (s *Server) ctlFaults(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodGet, http.MethodPost, http.MethodDelete) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		ctlJSON(w, http.StatusOK, map[string]any{"faults": s.faults.list()})
		return
	case http.MethodDelete:
		ctlJSON(w, http.StatusOK, map[string]int{"cleared": s.faults.clear()})
		return
	}
	f := &fault{}
	if err := decodeBody(r, f); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err := f.validate(); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	switch {
	case f.Fault == "compact":
		floor := s.store.Compact()
		s.logf("fault compact: history compacted at resourceVersion %d", floor)
		ctlJSON(w, http.StatusOK, map[string]any{"fault": "compact", "compactedAt": strconv.FormatUint(floor, 10)})
	case streamFaults[f.Fault] && f.Scope == "open":
		n := s.hub.send(f.res, watchCmd{kind: f.Fault, mode: f.Mode}, false)
		s.logf("fault %s on %d open watches", f.Fault, n)
		ctlJSON(w, http.StatusOK, map[string]any{"fault": f.Fault, "scope": "open", "affected": n})
	default:
		armed := s.faults.arm(f)
		s.logf("fault %s armed (id %d, count %d)", f.Fault, armed.ID, armed.Count)
		ctlJSON(w, http.StatusOK, armed)
	}
}

type watchInfo struct {
	ID              uint64 `json:"id"`
	Resource        string `json:"resource"`
	Namespace       string `json:"namespace,omitempty"`
	Query           string `json:"query"`
	User            string `json:"user"`
	Remote          string `json:"remote"`
	Started         string `json:"started"`
	Bookmarks       bool   `json:"bookmarks"`
	ResourceVersion string `json:"resourceVersion"`
	Events          uint64 `json:"events"`
}

// ctlWatches lists the open watches (?resource= filters), so a test can
// wait until its client's watch is established.
func (s *Server) ctlWatches(w http.ResponseWriter, r *http.Request) {
	var res *Resource
	if name := r.URL.Query().Get("resource"); name != "" {
		if res = lookupResource(name); res == nil {
			ctlError(w, http.StatusBadRequest, "unknown resource %q", name)
			return
		}
	}
	out := []watchInfo{}
	for _, wt := range s.hub.matching(res) {
		out = append(out, watchInfo{ID: wt.id, Resource: wt.res.Plural, Namespace: wt.filter.namespace, Query: wt.query, User: wt.user,
			Remote: wt.remote, Started: wt.started.UTC().Format(time.RFC3339Nano), Bookmarks: wt.bookmarks,
			ResourceVersion: strconv.FormatUint(wt.pos.Load(), 10), Events: wt.sent.Load()})
	}
	ctlJSON(w, http.StatusOK, map[string]any{"watches": out})
}

func (s *Server) ctlRequests(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		s.reqlog.clear()
		ctlJSON(w, http.StatusOK, map[string]bool{"cleared": true})
		return
	}
	q := r.URL.Query()
	resource := q.Get("resource")
	if resource != "" {
		if res := lookupResource(resource); res != nil {
			resource = res.Plural
		}
	}
	ctlJSON(w, http.StatusOK, map[string]any{"requests": s.reqlog.list(q.Get("verb"), resource)})
}

// ctlRotateToken replaces the main token and rewrites the token file and
// the kubeconfigs; the old token then gets 401 unless keepOld.
func (s *Server) ctlRotateToken(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodPost) {
		return
	}
	var req struct {
		Token   string `json:"token"`
		KeepOld bool   `json:"keepOld"`
	}
	if err := decodeBody(r, &req); err != nil {
		ctlError(w, http.StatusBadRequest, "%v", err)
		return
	}
	token, old := s.auth.Rotate(req.Token, req.KeepOld)
	if err := s.state.writeToken(token); err != nil {
		ctlError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	s.logf("token rotated")
	ctlJSON(w, http.StatusOK, map[string]string{"token": token, "previous": old})
}

// ctlTokens: GET lists tokens; POST adds or updates one (the main token
// when none is named) with a user and forbidden resources; DELETE
// /tokens/TOKEN revokes one.
func (s *Server) ctlTokens(w http.ResponseWriter, r *http.Request) {
	if !methodIs(w, r, http.MethodGet, http.MethodPost, http.MethodDelete) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		ctlJSON(w, http.StatusOK, map[string]any{"main": s.auth.MainToken(), "tokens": s.auth.Tokens()})
	case http.MethodDelete:
		token := strings.TrimPrefix(r.URL.Path, "/tokens/")
		if !s.auth.Revoke(token) {
			ctlError(w, http.StatusNotFound, "no such token")
			return
		}
		ctlJSON(w, http.StatusOK, map[string]bool{"revoked": true})
	case http.MethodPost:
		var req struct {
			Token          string          `json:"token"`
			User           string          `json:"user"`
			Forbidden      json.RawMessage `json:"forbidden"`
			ForbiddenVerbs []string        `json:"forbiddenVerbs"`
		}
		if err := decodeBody(r, &req); err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		rules, err := parseForbidden(req.Forbidden, req.ForbiddenVerbs)
		if err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		token := s.auth.SetToken(req.Token, req.User, rules)
		ctlJSON(w, http.StatusOK, map[string]any{"token": token, "user": s.auth.Tokens()[token].User, "forbidden": rules})
	}
}

// parseForbidden accepts ["pods", ...] (with forbiddenVerbs applying to
// each) or [{"resource":"pods","verbs":["watch"]}, ...].
func parseForbidden(raw json.RawMessage, verbs []string) ([]forbidRule, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var names []string
	var rules []forbidRule
	if err := json.Unmarshal(raw, &names); err == nil {
		for _, n := range names {
			rules = append(rules, forbidRule{Resource: n, Verbs: verbs})
		}
	} else if err := json.Unmarshal(raw, &rules); err != nil {
		return nil, fmt.Errorf("forbidden: want a list of resource names or of {resource, verbs}")
	}
	for i, rule := range rules {
		if rule.Resource == "*" {
			continue
		}
		res := lookupResource(rule.Resource)
		if res == nil {
			return nil, fmt.Errorf("forbidden: unknown resource %q", rule.Resource)
		}
		rules[i].Resource = res.Plural
	}
	return rules, nil
}
