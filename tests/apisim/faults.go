package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// fault is one injected misbehaviour, armed through the control API.
//
// Request faults answer (or fail to answer) the next Count matching API
// requests: gone, throttle, error, unavailable, status, slow, hang,
// expire-continue. Stream faults act on watch streams: with scope "open"
// on every matching watch open now (Count is ignored), with scope "next"
// on the next Count matching watches, after AfterEvents events: drop,
// gone-event, malformed.
type fault struct {
	ID                int    `json:"id"`
	Fault             string `json:"fault"`
	Resource          string `json:"resource,omitempty"`
	Verb              string `json:"verb,omitempty"`
	Count             int    `json:"count"`
	Scope             string `json:"scope,omitempty"`
	Code              int    `json:"code,omitempty"`
	Reason            string `json:"reason,omitempty"`
	Message           string `json:"message,omitempty"`
	RetryAfterSeconds int    `json:"retryAfterSeconds,omitempty"`
	Delay             string `json:"delay,omitempty"`
	AfterEvents       int    `json:"afterEvents,omitempty"`
	Mode              string `json:"mode,omitempty"`

	res   *Resource
	delay time.Duration
}

var (
	requestFaults = map[string]bool{"gone": true, "throttle": true, "error": true, "unavailable": true, "status": true, "slow": true, "hang": true, "expire-continue": true}
	streamFaults  = map[string]bool{"drop": true, "gone-event": true, "malformed": true}
)

// validate fills defaults and checks the parameters.
func (f *fault) validate() error {
	if !requestFaults[f.Fault] && !streamFaults[f.Fault] && f.Fault != "compact" {
		return fmt.Errorf("unknown fault %q (want gone, throttle, error, unavailable, status, slow, hang, expire-continue, drop, gone-event, malformed or compact)", f.Fault)
	}
	if f.Resource != "" {
		if f.res = lookupResource(f.Resource); f.res == nil {
			return fmt.Errorf("unknown resource %q", f.Resource)
		}
		f.Resource = f.res.Plural
	}
	switch f.Verb {
	case "", "list", "watch", "get":
	default:
		return fmt.Errorf("verb must be list, watch or get, not %q", f.Verb)
	}
	if streamFaults[f.Fault] {
		if f.Verb != "" && f.Verb != "watch" {
			return fmt.Errorf("%s acts on watches only", f.Fault)
		}
		f.Verb = "watch"
		switch f.Scope {
		case "":
			f.Scope = "open"
		case "open", "next":
		default:
			return fmt.Errorf("scope must be open or next, not %q", f.Scope)
		}
		if f.Fault == "drop" && f.Mode != "" && f.Mode != "close" && f.Mode != "reset" {
			return fmt.Errorf("drop mode must be close or reset, not %q", f.Mode)
		}
	} else if f.Scope != "" {
		return fmt.Errorf("scope applies to drop, gone-event and malformed only")
	}
	if f.Fault == "expire-continue" {
		if f.Verb != "" && f.Verb != "list" {
			return fmt.Errorf("expire-continue acts on lists only")
		}
		f.Verb = "list"
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Count < 0 {
		return fmt.Errorf("count must be positive")
	}
	if f.Delay != "" {
		d, err := time.ParseDuration(f.Delay)
		if err != nil || d < 0 {
			return fmt.Errorf("delay: want a duration like 200ms, not %q", f.Delay)
		}
		f.delay = d
	} else if f.Fault == "slow" {
		f.delay, f.Delay = time.Second, "1s"
	}
	switch f.Fault {
	case "throttle", "unavailable":
		if f.RetryAfterSeconds == 0 {
			f.RetryAfterSeconds = 1
		}
	case "status":
		if f.Code < 400 || f.Code > 599 {
			return fmt.Errorf("status needs a code between 400 and 599")
		}
	}
	return nil
}

func (f *fault) matches(res *Resource, verb string) bool {
	return (f.res == nil || f.res == res) && (f.Verb == "" || f.Verb == verb)
}

// status is the Status a request fault answers with (nil for slow, hang
// and expire-continue, which act otherwise). requested is the request's
// resourceVersion, floor the oldest one the history holds.
func (f *fault) status(requested, floor uint64) *Status {
	var s *Status
	switch f.Fault {
	case "gone":
		s = statusTooOld(requested, floor)
	case "throttle":
		s = failure(http.StatusTooManyRequests, "TooManyRequests", "Too many requests, please try again later.")
	case "error":
		s = failure(http.StatusInternalServerError, "InternalError", "Internal error occurred: injected by kube-apisim")
	case "unavailable":
		s = failure(http.StatusServiceUnavailable, "ServiceUnavailable", "The server is currently unable to handle the request")
	case "status":
		s = failure(f.Code, reasonForCode[f.Code], fmt.Sprintf("injected by kube-apisim: %d %s", f.Code, http.StatusText(f.Code)))
	default:
		return nil
	}
	if f.Reason != "" {
		s.Reason = f.Reason
	}
	if f.Message != "" {
		s.Message = f.Message
	}
	if f.RetryAfterSeconds > 0 {
		s.Details = &StatusDetails{RetryAfterSeconds: f.RetryAfterSeconds}
	}
	return s
}

// reasonForCode is the StatusReason the real server gives each code.
var reasonForCode = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
	406: "NotAcceptable", 409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType",
	422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}

// faultSet holds the armed faults in the order they were armed.
type faultSet struct {
	mu     sync.Mutex
	armed  []*fault
	nextID int
}

func (fs *faultSet) arm(f *fault) *fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.nextID++
	f.ID = fs.nextID
	fs.armed = append(fs.armed, f)
	copied := *f
	return &copied
}

func (fs *faultSet) list() []fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := []fault{}
	for _, f := range fs.armed {
		out = append(out, *f)
	}
	return out
}

func (fs *faultSet) clear() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n := len(fs.armed)
	fs.armed = nil
	return n
}

// take uses up one count of the first armed fault of one of kinds that
// matches the request, and returns a copy of it (nil when none).
func (fs *faultSet) take(kinds map[string]bool, res *Resource, verb string, isContinue bool) *fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.armed {
		if !kinds[f.Fault] || !f.matches(res, verb) {
			continue
		}
		if f.Fault == "expire-continue" && !isContinue {
			continue
		}
		if streamFaults[f.Fault] && f.Scope != "next" {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			fs.armed = append(fs.armed[:i], fs.armed[i+1:]...)
		}
		copied := *f
		return &copied
	}
	return nil
}
