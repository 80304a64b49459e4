package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
)

var servedVerbs = []string{"get", "list", "watch"}

// serveVersion answers /version like the real server (public, no auth).
func (s *Server) serveVersion(w http.ResponseWriter) {
	v := strings.TrimPrefix(s.serverVersion, "v")
	parts := strings.SplitN(v, ".", 3)
	major, minor := parts[0], ""
	if len(parts) > 1 {
		minor = parts[1]
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"major": major, "minor": minor, "gitVersion": s.serverVersion,
		"gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
		"buildDate": "2025-01-01T00:00:00Z", "goVersion": runtime.Version(), "compiler": "gc",
		"platform": runtime.GOOS + "/" + runtime.GOARCH,
	})
}

// serveDiscovery answers /api, /apis, /apis/<group> and the resource lists
// of each group version; false when the path is not a discovery path. For
// /api and /apis it serves the aggregated discovery document (apidiscovery
// v2 or v2beta1) when the client asks for it and it is enabled, else the
// legacy documents.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "api":
		if s.serveAggregated(w, r, true) {
			return true
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": s.apiHostPort}},
		})
	case len(parts) == 1 && parts[0] == "apis":
		if s.serveAggregated(w, r, false) {
			return true
		}
		groups := []any{}
		for _, g := range servedGroups() {
			groups = append(groups, legacyGroup(g))
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
	case len(parts) == 2 && parts[0] == "apis":
		for _, g := range servedGroups() {
			if g.Name == parts[1] {
				doc := legacyGroup(g)
				doc["kind"], doc["apiVersion"] = "APIGroup", "v1"
				writeJSON(w, http.StatusOK, doc)
				return true
			}
		}
		writeStatus(w, notFoundPath())
	case len(parts) == 2 && parts[0] == "api" && parts[1] == "v1":
		writeJSON(w, http.StatusOK, resourceList("", "v1"))
	case len(parts) == 3 && parts[0] == "apis":
		if len(resourcesIn(parts[1], parts[2])) == 0 {
			writeStatus(w, notFoundPath())
			return true
		}
		writeJSON(w, http.StatusOK, resourceList(parts[1], parts[2]))
	case len(parts) >= 1 && parts[0] == "openapi":
		writeStatus(w, notFoundPath())
	default:
		return false
	}
	return true
}

func legacyGroup(g apiGroup) map[string]any {
	versions := []map[string]string{}
	for _, v := range g.Versions {
		versions = append(versions, map[string]string{"groupVersion": g.Name + "/" + v, "version": v})
	}
	return map[string]any{"name": g.Name, "versions": versions, "preferredVersion": versions[0]}
}

func resourceList(group, version string) map[string]any {
	gv := version
	if group != "" {
		gv = group + "/" + version
	}
	resources := []map[string]any{}
	for _, r := range resourcesIn(group, version) {
		entry := map[string]any{
			"name": r.Plural, "singularName": r.Singular, "namespaced": r.Namespaced,
			"kind": r.Kind, "verbs": servedVerbs, "storageVersionHash": storageVersionHash(r),
		}
		if len(r.ShortNames) > 0 {
			entry["shortNames"] = r.ShortNames
		}
		if len(r.Categories) > 0 {
			entry["categories"] = r.Categories
		}
		resources = append(resources, entry)
	}
	return map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
}

func storageVersionHash(r *Resource) string {
	sum := sha256.Sum256([]byte(r.GroupVersion() + "/" + r.Kind))
	return base64.StdEncoding.EncodeToString(sum[:8])
}

// aggregatedVersion returns the apidiscovery version the Accept header asks
// for first ("v2" or "v2beta1"), or "" for the legacy documents.
func aggregatedVersion(accept string) string {
	for _, mt := range strings.Split(accept, ",") {
		p := mediaParams(mt)
		if p["g"] == "apidiscovery.k8s.io" && p["as"] == "APIGroupDiscoveryList" && (p["v"] == "v2" || p["v"] == "v2beta1") {
			return p["v"]
		}
		if strings.HasPrefix(strings.TrimSpace(mt), "application/json") && len(p) == 0 {
			return ""
		}
	}
	return ""
}

// serveAggregated writes the APIGroupDiscoveryList of the core group (/api)
// or of the named groups (/apis).
func (s *Server) serveAggregated(w http.ResponseWriter, r *http.Request, core bool) bool {
	s.cfgMu.Lock()
	enabled := s.aggregatedDiscovery
	s.cfgMu.Unlock()
	version := aggregatedVersion(r.Header.Get("Accept"))
	if !enabled || version == "" {
		return false
	}
	items := []any{}
	if core {
		items = append(items, discoveryGroup("", []string{"v1"}))
	} else {
		for _, g := range servedGroups() {
			items = append(items, discoveryGroup(g.Name, g.Versions))
		}
	}
	doc := map[string]any{"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/" + version, "metadata": map[string]any{}, "items": items}
	w.Header().Set("Vary", "Accept")
	// writeJSON sets application/json; the aggregated type must win.
	b, err := json.Marshal(doc)
	if err != nil {
		writeStatus(w, failure(http.StatusInternalServerError, "InternalError", err.Error()))
		return true
	}
	w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v="+version+";as=APIGroupDiscoveryList")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
	return true
}

func discoveryGroup(name string, versions []string) map[string]any {
	meta := map[string]any{}
	if name != "" {
		meta["name"] = name
	}
	vs := []any{}
	for _, v := range versions {
		resources := []any{}
		for _, r := range resourcesIn(name, v) {
			scope := "Cluster"
			if r.Namespaced {
				scope = "Namespaced"
			}
			entry := map[string]any{
				"resource":         r.Plural,
				"responseKind":     map[string]string{"group": r.Group, "version": r.Version, "kind": r.Kind},
				"scope":            scope,
				"singularResource": r.Singular,
				"verbs":            servedVerbs,
			}
			if len(r.ShortNames) > 0 {
				entry["shortNames"] = r.ShortNames
			}
			if len(r.Categories) > 0 {
				entry["categories"] = r.Categories
			}
			resources = append(resources, entry)
		}
		vs = append(vs, map[string]any{"version": v, "resources": resources, "freshness": "Current"})
	}
	return map[string]any{"metadata": meta, "versions": vs}
}
