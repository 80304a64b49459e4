// Command kube-apisim simulates a Kubernetes API server for tests: real
// discovery, LIST with pagination and resourceVersion, chunked WATCH with
// bookmarks and 410 Gone, bearer tokens and client certificates over TLS
// with its own CA, and a control API on a second loopback listener to
// change objects, inject faults and read the request log. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const version = "0.1.0"

// Exit statuses, as in every tool of the project.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	listen, control, stateDir, token, tooOld, serverVersion string
	fixtures                                                stringList
	history                                                 int
	noTLS, noAggregated, verbose, showVersion               bool
	bookmarkInterval                                        time.Duration
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, `Usage: kube-apisim --state-dir DIR [options]

A Kubernetes API server simulator for tests. It serves discovery, LIST, GET
and WATCH of core, apps and KubeVirt resources over TLS on loopback, and a
control API (plain HTTP, loopback) to change objects and inject faults.
On startup it writes into DIR: api-url, control-url, ca.crt, client.crt,
client.key, token, kubeconfig, kubeconfig-clientcert, pid and, last, ready.

Options:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintf(w, `
Exit status: 0 after SIGTERM or SIGINT, 1 on a runtime failure, 2 on a usage error.
`)
}

func parseOptions(args []string) (*options, int) {
	o := &options{}
	fs := flag.NewFlagSet("kube-apisim", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:0", "API `address` (loopback only; port 0 picks a free one)")
	fs.StringVar(&o.control, "control", "127.0.0.1:0", "control API `address` (loopback only)")
	fs.StringVar(&o.stateDir, "state-dir", "", "`directory` for the URLs, CA, credentials, kubeconfig and ready flag (required)")
	fs.Var(&o.fixtures, "fixtures", "JSON `path` (file or directory of *.json) of objects to load at startup; repeatable")
	fs.IntVar(&o.history, "history", 10000, "events kept for watches and paginated lists; older resource versions get 410")
	fs.StringVar(&o.token, "token", "", "bearer `token` to accept (default: a random one)")
	fs.BoolVar(&o.noTLS, "no-tls", false, "serve the API over plain HTTP")
	fs.DurationVar(&o.bookmarkInterval, "bookmark-interval", time.Minute, "BOOKMARK period on watches that allow them (0: only on request)")
	fs.StringVar(&o.tooOld, "too-old", "event", "answer a watch from a too old resource version with an ERROR `event` in the stream (as the real server) or an HTTP 410 (http)")
	fs.BoolVar(&o.noAggregated, "no-aggregated-discovery", false, "serve only the legacy discovery documents")
	fs.StringVar(&o.serverVersion, "server-version", "v1.32.4", "gitVersion reported by /version")
	fs.BoolVar(&o.verbose, "verbose", false, "log every request")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(os.Stdout, fs)
		return nil, exitOK
	}
	fail := func(format string, a ...any) (*options, int) {
		fmt.Fprintf(os.Stderr, "kube-apisim: "+format+"\n", a...)
		fmt.Fprintln(os.Stderr, "Try 'kube-apisim --help'.")
		return nil, exitUsage
	}
	if err != nil {
		return fail("%v", err)
	}
	if o.showVersion {
		fmt.Printf("kube-apisim %s (simulating Kubernetes %s)\n", version, o.serverVersion)
		return nil, exitOK
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	if o.stateDir == "" {
		return fail("--state-dir is required")
	}
	for _, a := range []string{o.listen, o.control} {
		if err := checkLoopback(a); err != nil {
			return fail("%v", err)
		}
	}
	if o.tooOld != "event" && o.tooOld != "http" {
		return fail("--too-old must be event or http")
	}
	if o.history < 1 {
		return fail("--history must be positive")
	}
	if o.bookmarkInterval < 0 {
		return fail("--bookmark-interval must not be negative")
	}
	return o, -1
}

// checkLoopback refuses any address that is not on loopback: a test
// simulator must never be reachable from elsewhere.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not on loopback", addr)
	}
	return nil
}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("kube-apisim: ")
	o, code := parseOptions(os.Args[1:])
	if o == nil {
		os.Exit(code)
	}
	if err := run(o); err != nil {
		log.Printf("%v", err)
		os.Exit(exitFailure)
	}
	os.Exit(exitOK)
}

func run(o *options) error {
	s := &Server{
		store: newStore(o.history), auth: newAuth(o.token), reqlog: newRequestLog(100000), hub: newWatchHub(),
		done: make(chan struct{}), bookmarkInterval: o.bookmarkInterval, tooOldAsHTTP: o.tooOld == "http",
		aggregatedDiscovery: !o.noAggregated, serverVersion: o.serverVersion, verbose: o.verbose,
	}
	s.fixtures = o.fixtures
	n, err := loadFixtures(s.store, o.fixtures)
	if err != nil {
		return fmt.Errorf("fixtures: %v", err)
	}
	if n > 0 {
		log.Printf("loaded %d objects from %s", n, strings.Join(o.fixtures, ", "))
	}

	apiLn, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", o.listen, err)
	}
	ctlLn, err := net.Listen("tcp", o.control)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %v", o.control, err)
	}
	s.apiHostPort = apiLn.Addr().String()
	scheme := "https"
	if o.noTLS {
		scheme = "http"
	} else if s.pki, err = newPKI(); err != nil {
		return fmt.Errorf("generating the CA: %v", err)
	}
	s.state = &stateDir{dir: o.stateDir, apiURL: scheme + "://" + s.apiHostPort, controlURL: "http://" + ctlLn.Addr().String(), pki: s.pki}

	apiSrv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.Default()}
	ctlSrv := &http.Server{Handler: s.controlHandler(), ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.Default()}
	errs := make(chan error, 2)
	go func() {
		if o.noTLS {
			errs <- apiSrv.Serve(apiLn)
		} else {
			apiSrv.TLSConfig = s.pki.serverConfig()
			errs <- apiSrv.ServeTLS(apiLn, "", "")
		}
	}()
	go func() { errs <- ctlSrv.Serve(ctlLn) }()

	if err := s.state.writeAll(s.auth.MainToken()); err != nil {
		return fmt.Errorf("state dir: %v", err)
	}
	if err := s.state.markReady(); err != nil {
		return fmt.Errorf("state dir: %v", err)
	}
	log.Printf("ready: api %s control %s state %s (resourceVersion %d)", s.state.apiURL, s.state.controlURL, o.stateDir, s.store.CurrentRV())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	var runErr error
	select {
	case sig := <-sigs:
		log.Printf("%v: shutting down", sig)
	case err := <-errs:
		runErr = fmt.Errorf("server stopped: %v", err)
	}
	s.state.clearReady()
	close(s.done) // ends the watches and hangs, so Shutdown does not wait on them
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := apiSrv.Shutdown(ctx); err != nil {
		apiSrv.Close()
	}
	if err := ctlSrv.Shutdown(ctx); err != nil {
		ctlSrv.Close()
	}
	return runErr
}
