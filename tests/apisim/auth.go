package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
)

// tokenUser is who a bearer token authenticates as, and what it may not do.
type tokenUser struct {
	User      string       `json:"user"`
	Forbidden []forbidRule `json:"forbidden,omitempty"`
}

// forbidRule denies verbs (all when empty) on a resource ("*" for all).
type forbidRule struct {
	Resource string   `json:"resource"`
	Verbs    []string `json:"verbs,omitempty"`
}

const defaultTokenUser = "system:serviceaccount:kubevirt-monitoring:kv-watch"

// Auth authenticates requests by bearer token or by a client certificate
// signed by the simulator's CA, and authorizes them against per-token
// forbidden rules. Everything else is allowed.
type Auth struct {
	mu     sync.Mutex
	tokens map[string]*tokenUser
	main   string // the token written to the state dir
}

func newAuth(token string) *Auth {
	if token == "" {
		token = randomToken()
	}
	return &Auth{tokens: map[string]*tokenUser{token: {User: defaultTokenUser}}, main: token}
}

func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "apisim-" + hex.EncodeToString(b[:])
}

// MainToken is the token clients are given.
func (a *Auth) MainToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.main
}

// Authenticate returns the user of a request, or false. Like the real
// server's union authenticator, a valid client certificate wins over a bad
// token.
func (a *Auth) Authenticate(r *http.Request) (string, string, bool) {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && len(r.TLS.VerifiedChains[0]) > 0 {
		return r.TLS.VerifiedChains[0][0].Subject.CommonName, "", true
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		token := strings.TrimSpace(h[7:])
		a.mu.Lock()
		defer a.mu.Unlock()
		if u, ok := a.tokens[token]; ok {
			return u.User, token, true
		}
	}
	return "", "", false
}

// Allowed reports whether the token may use verb on res.
func (a *Auth) Allowed(token string, res *Resource, verb string) bool {
	if token == "" {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.tokens[token]
	if u == nil {
		return false
	}
	for _, rule := range u.Forbidden {
		if rule.Resource != "*" && lookupResource(rule.Resource) != res {
			continue
		}
		if len(rule.Verbs) == 0 || containsString(rule.Verbs, verb) {
			return false
		}
	}
	return true
}

// Rotate replaces the main token; the old one stops working unless keepOld.
func (a *Auth) Rotate(newToken string, keepOld bool) (string, string) {
	if newToken == "" {
		newToken = randomToken()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.main
	u := a.tokens[old]
	if u == nil {
		u = &tokenUser{User: defaultTokenUser}
	}
	copied := *u
	a.tokens[newToken] = &copied
	if !keepOld && old != newToken {
		delete(a.tokens, old)
	}
	a.main = newToken
	return newToken, old
}

// SetToken adds or replaces a token (the main one when token is empty).
func (a *Auth) SetToken(token, user string, forbidden []forbidRule) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if token == "" {
		token = a.main
	}
	u := a.tokens[token]
	if u == nil {
		u = &tokenUser{User: defaultTokenUser}
		a.tokens[token] = u
	}
	if user != "" {
		u.User = user
	}
	u.Forbidden = forbidden
	return token
}

// Revoke removes a token.
func (a *Auth) Revoke(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.tokens[token]
	delete(a.tokens, token)
	return ok
}

// Tokens lists the known tokens.
func (a *Auth) Tokens() map[string]tokenUser {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]tokenUser{}
	for t, u := range a.tokens {
		out[t] = *u
	}
	return out
}
