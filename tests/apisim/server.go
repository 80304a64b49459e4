package main

import (
	"log"
	"sync"
	"time"
)

// Server is the simulator: the store and everything that misbehaves on
// purpose, shared by the API listener and the control listener.
type Server struct {
	store    *Store
	auth     *Auth
	faults   faultSet
	reqlog   *requestLog
	hub      *watchHub
	pki      *pki // nil with --no-tls
	state    *stateDir
	fixtures []string      // the --fixtures paths, for POST /reset
	done     chan struct{} // closed at shutdown: watches end, hangs return

	cfgMu               sync.Mutex
	bookmarkInterval    time.Duration
	tooOldAsHTTP        bool // answer a too-old watch with HTTP 410 instead of an ERROR event
	aggregatedDiscovery bool
	serverVersion       string
	apiHostPort         string
	verbose             bool
}

type serverConfig struct {
	BookmarkInterval    string `json:"bookmarkInterval"`
	TooOld              string `json:"tooOld"`
	History             int    `json:"history"`
	AggregatedDiscovery bool   `json:"aggregatedDiscovery"`
}

func (s *Server) config() serverConfig {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	c := serverConfig{BookmarkInterval: s.bookmarkInterval.String(), TooOld: "event", AggregatedDiscovery: s.aggregatedDiscovery}
	if s.tooOldAsHTTP {
		c.TooOld = "http"
	}
	_, _, c.History = s.store.HistoryInfo()
	return c
}

func (s *Server) getBookmarkInterval() time.Duration {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.bookmarkInterval
}

func (s *Server) getTooOldAsHTTP() bool {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.tooOldAsHTTP
}

func (s *Server) logf(format string, args ...any) { log.Printf(format, args...) }

func (s *Server) debugf(format string, args ...any) {
	if s.verbose {
		log.Printf(format, args...)
	}
}
