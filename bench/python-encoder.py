#!/usr/bin/python3
"""python-encoder: the official Python Prometheus client as a peer of kv-promfmt.

Reads the sample stream (NDJSON, kv-sample(5)) on stdin, builds metric
families in a custom Collector (GaugeMetricFamily, CounterMetricFamily,
UnknownMetricFamily) and writes generate_latest(registry) on stdout.

Only what the benchmark needs: end records are skipped (the input holds one
snapshot), timestamps are not written (kv-promfmt's default). Run it with
Debian's /usr/bin/python3 and python3-prometheus-client.
"""

import json
import sys

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.exposition import generate_latest

SPECIAL = {"NaN": float("nan"), "+Inf": float("inf"), "-Inf": float("-inf")}


class StreamCollector:
    """Holds the families of one snapshot and hands them out on collect()."""

    def __init__(self):
        self.families = {}  # exposed name -> (family, sample name)

    def family(self, name, typ, help_text, unit):
        entry = self.families.get(name)
        if entry is not None:
            fam = entry[0]
            if not fam.documentation and help_text:
                fam.documentation = help_text
            return entry
        if typ == "counter":
            # The client appends _total itself.
            base = name[:-6] if name.endswith("_total") else name
            cls, sample_name = CounterMetricFamily, base + "_total"
        elif typ == "gauge":
            base, cls, sample_name = name, GaugeMetricFamily, name
        else:
            base, cls, sample_name = name, UnknownMetricFamily, name
        # The client would append the unit to a name that does not end in it.
        kwargs = {"unit": unit} if unit and base.endswith("_" + unit) else {}
        fam = cls(base, help_text or "", **kwargs)
        entry = self.families[name] = (fam, sample_name)
        return entry

    def read(self, stream):
        for number, line in enumerate(stream, 1):
            try:
                rec = json.loads(line)
            except ValueError as e:
                print(f"python-encoder: line {number}: {e}", file=sys.stderr)
                continue
            if not isinstance(rec, dict) or "name" not in rec:
                continue  # an end record, or not a sample
            value = rec.get("value")
            if isinstance(value, str):
                if value not in SPECIAL:
                    print(f"python-encoder: line {number}: bad value {value!r}", file=sys.stderr)
                    continue
                value = SPECIAL[value]
            fam, sample_name = self.family(rec["name"], rec.get("type", "untyped"),
                                           rec.get("help", ""), rec.get("unit", ""))
            # Label names may differ from sample to sample, so add_sample with
            # a dict rather than add_metric with a fixed list of names.
            fam.add_sample(sample_name, rec.get("labels") or {}, float(value))

    def collect(self):
        for name in sorted(self.families):
            yield self.families[name][0]


def main():
    collector = StreamCollector()
    collector.read(sys.stdin.buffer)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    sys.stdout.buffer.write(generate_latest(registry))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
