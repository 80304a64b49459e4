// expfmt-encoder: the peer that kv-promfmt is measured against. It reads the
// sample stream (NDJSON, kv-sample(5)) on stdin, builds dto.MetricFamily
// values the way client_golang's registry hands them to expfmt (families
// sorted by name, label pairs sorted by name, metrics sorted by label
// values), and writes them with expfmt.MetricFamilyToText on stdout.
//
// Only what the benchmark needs: end records are skipped (the input holds
// one snapshot), a later sample of the same series is simply appended, and
// timestamps are not written (kv-promfmt's default). expfmt's text format has
// no unit, so "unit" is ignored.
//
// With -timings it prints on stderr how long decoding the JSON and building
// the families took, and how long sorting and expfmt's encoding took.
//
// Build offline from Debian's golang-github-prometheus-common-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o build/bench/expfmt-encoder ./bench/expfmt-encoder
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"
)

type record struct {
	Name   *string           `json:"name"`
	End    *string           `json:"end"`
	Type   string            `json:"type"`
	Help   string            `json:"help"`
	Labels map[string]string `json:"labels"`
	Value  json.RawMessage   `json:"value"`
}

func parseValue(raw json.RawMessage) (float64, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "+Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return strconv.ParseFloat(string(raw), 64)
}

func metricType(t string) dto.MetricType {
	switch t {
	case "counter":
		return dto.MetricType_COUNTER
	case "gauge":
		return dto.MetricType_GAUGE
	}
	return dto.MetricType_UNTYPED
}

// lessByLabelValues orders metrics of one family like client_golang does:
// label values in order, then timestamps.
func lessByLabelValues(a, b *dto.Metric) bool {
	for i := range a.Label {
		if i >= len(b.Label) {
			return false
		}
		va, vb := a.Label[i].GetValue(), b.Label[i].GetValue()
		if va != vb {
			return va < vb
		}
	}
	if len(a.Label) != len(b.Label) {
		return len(a.Label) < len(b.Label)
	}
	return a.GetTimestampMs() < b.GetTimestampMs()
}

func main() {
	timings := flag.Bool("timings", false, "print the time of each phase on stderr")
	flag.Parse()
	start := time.Now()
	families := map[string]*dto.MetricFamily{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for in.Scan() {
		line++
		var r record
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			fmt.Fprintf(os.Stderr, "expfmt-encoder: line %d: %v\n", line, err)
			continue
		}
		if r.Name == nil {
			continue // an end record, or not a sample
		}
		v, err := parseValue(r.Value)
		if err != nil {
			fmt.Fprintf(os.Stderr, "expfmt-encoder: line %d: %v\n", line, err)
			continue
		}
		typ := metricType(r.Type)
		fam := families[*r.Name]
		if fam == nil {
			fam = &dto.MetricFamily{Name: proto.String(*r.Name), Type: typ.Enum()}
			families[*r.Name] = fam
		}
		if fam.Help == nil && r.Help != "" {
			fam.Help = proto.String(r.Help)
		}
		m := &dto.Metric{}
		names := make([]string, 0, len(r.Labels))
		for k := range r.Labels {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			m.Label = append(m.Label, &dto.LabelPair{Name: proto.String(k), Value: proto.String(r.Labels[k])})
		}
		switch fam.GetType() {
		case dto.MetricType_COUNTER:
			m.Counter = &dto.Counter{Value: proto.Float64(v)}
		case dto.MetricType_GAUGE:
			m.Gauge = &dto.Gauge{Value: proto.Float64(v)}
		default:
			m.Untyped = &dto.Untyped{Value: proto.Float64(v)}
		}
		fam.Metric = append(fam.Metric, m)
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "expfmt-encoder: reading stdin: %v\n", err)
		os.Exit(1)
	}

	decoded := time.Now()

	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	for _, n := range names {
		fam := families[n]
		sort.SliceStable(fam.Metric, func(i, j int) bool { return lessByLabelValues(fam.Metric[i], fam.Metric[j]) })
		if _, err := expfmt.MetricFamilyToText(out, fam); err != nil {
			fmt.Fprintf(os.Stderr, "expfmt-encoder: %v\n", err)
			os.Exit(1)
		}
	}
	if err := out.Flush(); err != nil && err != io.EOF {
		fmt.Fprintf(os.Stderr, "expfmt-encoder: writing stdout: %v\n", err)
		os.Exit(1)
	}
	if *timings {
		fmt.Fprintf(os.Stderr, "expfmt-encoder: decode+build %.3f s, sort+encode %.3f s\n",
			decoded.Sub(start).Seconds(), time.Since(decoded).Seconds())
	}
}
