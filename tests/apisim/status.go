package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Status is the apiserver's error object (kind Status, apiVersion v1).
type Status struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   listMeta       `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message"`
	Reason     string         `json:"reason,omitempty"`
	Details    *StatusDetails `json:"details,omitempty"`
	Code       int            `json:"code"`
}

type StatusDetails struct {
	Name              string `json:"name,omitempty"`
	Group             string `json:"group,omitempty"`
	Kind              string `json:"kind,omitempty"`
	RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
}

func failure(code int, reason, message string) *Status {
	return &Status{Kind: "Status", APIVersion: "v1", Status: "Failure", Code: code, Reason: reason, Message: message}
}

func resourceDetails(res *Resource, name string) *StatusDetails {
	return &StatusDetails{Name: name, Group: res.Group, Kind: res.Plural}
}

func statusUnauthorized() *Status {
	return failure(http.StatusUnauthorized, "Unauthorized", "Unauthorized")
}

func statusNotFound(res *Resource, name string) *Status {
	s := failure(http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", res.GroupResource(), name))
	s.Details = resourceDetails(res, name)
	return s
}

func statusBadRequest(message string) *Status {
	return failure(http.StatusBadRequest, "BadRequest", message)
}

// statusTooOld is what a watch from an evicted resourceVersion gets.
func statusTooOld(requested, oldest uint64) *Status {
	return failure(http.StatusGone, "Expired", fmt.Sprintf("too old resource version: %d (%d)", requested, oldest))
}

// continueExpiredMessage is the real server's text for a continue token
// whose snapshot was compacted away.
const continueExpiredMessage = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

func statusContinueExpired(inconsistentToken string) *Status {
	s := failure(http.StatusGone, "Expired", continueExpiredMessage)
	s.Metadata.Continue = inconsistentToken
	return s
}

func statusForbidden(res *Resource, verb, user, namespace, name string) *Status {
	scope := "at the cluster scope"
	if namespace != "" {
		scope = fmt.Sprintf("in the namespace %q", namespace)
	}
	subject := res.GroupResource()
	if name != "" {
		subject += fmt.Sprintf(" %q", name)
	}
	s := failure(http.StatusForbidden, "Forbidden", fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q %s",
		subject, user, verb, res.Plural, res.Group, scope))
	s.Details = resourceDetails(res, name)
	return s
}

func statusMethodNotAllowed() *Status {
	return failure(http.StatusMethodNotAllowed, "MethodNotAllowed", "the server does not allow this method on the requested resource")
}

// writeStatus sends a Status with its HTTP code (and Retry-After when the
// details carry one).
func writeStatus(w http.ResponseWriter, s *Status) {
	if s.Details != nil && s.Details.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s.Details.RetryAfterSeconds))
	}
	writeJSON(w, s.Code, s)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"encoding failed","reason":"InternalError","code":500}`)
	}
	writeBody(w, code, b)
}

func writeBody(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte("\n"))
}
