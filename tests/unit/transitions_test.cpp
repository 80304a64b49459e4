// kv-watch's Transition metrics: the cache's update hook, the durations
// observed (KubeVirt's phase transition semantics), the histograms written,
// and the errors a config that misuses the extension gets.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/transitions.hpp"
#include "crs_test_support.hpp"

namespace kv::watch {
namespace {

using crs::ConfigError;
using crs::parse_metrics_config;

// A VMI resource with `metrics` (YAML list items, indented by 4).
std::string config_with(const std::string& metrics) {
  return "spec:\n"
         "  resources:\n"
         "  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachineInstance}\n"
         "    metricNamePrefix: \"\"\n"
         "    customResourceLabels: false\n"
         "    metrics:\n" +
         metrics;
}

constexpr const char* kPhaseSeconds =
    "    - name: phase_seconds\n"
    "      each:\n"
    "        type: Transition\n"
    "        transition:\n"
    "          path: [status, phase]\n"
    "          timestamps: {path: [status, phaseTransitionTimestamps], key: [phase], time: [phaseTransitionTimestamp]}\n"
    "          from: previous\n"
    "          fromUnset: [metadata, creationTimestamp]\n"
    "          labelName: phase\n"
    "          previousLabelName: last_phase\n"
    "          buckets: [0.5, 1, 2, 5]\n";

constexpr const char* kFromDeletion =
    "    - name: from_deletion_seconds\n"
    "      when:\n"
    "      - {path: [metadata, deletionTimestamp], exists: true}\n"
    "      - {path: [status, phase], in: [Succeeded, Failed]}\n"
    "      each:\n"
    "        type: Transition\n"
    "        transition:\n"
    "          path: [status, phase]\n"
    "          timestamps: {path: [status, phaseTransitionTimestamps], key: [phase], time: [phaseTransitionTimestamp]}\n"
    "          from: [metadata, deletionTimestamp]\n"
    "          fromUnset: [metadata, creationTimestamp]\n"
    "          labelName: phase\n"
    "          buckets: [60]\n";

std::string config_error(const std::string& metrics) {
  return crs::support::config_error_of(config_with(metrics));
}

// A VMI version: phase (empty: none), its transition timestamps as
// "Phase@seconds past 10:00:00" and optional deletion second.
std::string vmi(const std::string& rv, const std::string& phase, const std::vector<std::string>& stamps,
                int deleted_at = -1, const std::string& name = "vm") {
  auto at = [](int s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2026-11-23T10:%02d:%02dZ", s / 60, s % 60);
    return std::string(buf);
  };
  std::string j = R"({"metadata":{"name":")" + name + R"(","namespace":"ns","resourceVersion":")" + rv +
                  R"(","creationTimestamp":")" + at(0) + "\"";
  if (deleted_at >= 0) j += R"(,"deletionTimestamp":")" + at(deleted_at) + "\"";
  j += R"(},"status":{)";
  if (!phase.empty()) j += R"("phase":")" + phase + "\",";
  j += R"("phaseTransitionTimestamps":[)";
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    auto sep = stamps[i].find('@');
    j += (i ? "," : "") + std::string(R"({"phase":")") + stamps[i].substr(0, sep) +
         R"(","phaseTransitionTimestamp":")" + at(std::stoi(stamps[i].substr(sep + 1))) + "\"}";
  }
  return j + "]}}";
}

// The histograms of a config's Transition metrics after `versions` went
// through one cache in order ("-name" deletes), as text: one line per series.
struct Harness {
  explicit Harness(const std::string& metrics)
      : config(parse_metrics_config(config_with(metrics), "test.yaml")),
        transitions({&config.resources.at(0)}),
        cache(FieldSelection(crs::fields_read(config.resources.at(0))), transitions.observer(config.resources.at(0))) {}

  void apply(const std::string& json) {
    if (json.starts_with("-")) {
      cache.erase("ns/" + json.substr(1));
      return;
    }
    cache.upsert(parser.parse(json).value());
  }

  std::string histograms() const {
    std::string text;
    for (const auto& m : config.resources.at(0).metrics) {
      const TransitionHistogram* h = transitions.histogram(m);
      if (!h) continue;
      h->write([&](const SampleOut& s) {
        text += std::string(s.name) + "{";
        for (const auto& [k, v] : s.labels) text += std::string(k) + "=" + std::string(v) + ",";
        text += "}";
        for (const auto& b : s.buckets) text += " " + crs::go_format_float(b.upper_bound) + ":" + std::to_string(b.count);
        text += " count=" + crs::go_format_float(s.value) + " sum=" + crs::go_format_float(s.sum) + "\n";
      });
    }
    return text;
  }

  std::uint64_t errors() const {
    std::map<std::string, std::uint64_t> out;
    transitions.add_errors(out);
    std::uint64_t n = 0;
    for (const auto& [_, c] : out) n += c;
    return n;
  }

  crs::MetricsConfig config;
  TransitionMetrics transitions;
  ObjectCache cache;
  simdjson::dom::parser parser;
};

// --- the hook ------------------------------------------------------------------

struct RecordingObserver : UpdateObserver {
  void digest(simdjson::dom::element object, std::string& out) const override {
    std::string_view phase;
    if (object["status"]["phase"].get(phase) == simdjson::SUCCESS) out.append(phase);
  }
  void updated(std::string_view old_digest, std::string_view new_digest, simdjson::dom::element) override {
    calls.push_back(std::string(old_digest) + ">" + std::string(new_digest));
  }
  std::vector<std::string> calls;
};

TEST(TransitionHook, OnlyUpdatesOfCachedObjectsThatChangeTheDigest) {
  auto observer = std::make_shared<RecordingObserver>();
  ObjectCache cache(FieldSelection({"status.phase"}), observer);
  simdjson::dom::parser p;
  auto put = [&](const std::string& rv, const std::string& phase, const std::string& name = "a") {
    return cache.upsert(p.parse(R"({"metadata":{"name":")" + name + R"(","resourceVersion":")" + rv +
                                R"("},"status":{"phase":")" + phase + "\"}}")
                            .value());
  };
  EXPECT_EQ(put("1", "Pending"), EventType::added);  // the first list, or an ADDED: nothing
  EXPECT_EQ(put("2", "Pending"), EventType::modified);  // another version, the same phase: nothing
  EXPECT_EQ(put("3", "Running"), EventType::modified);
  EXPECT_EQ(put("3", "Running"), std::nullopt);  // the same version again: nothing
  EXPECT_EQ(put("5", "Succeeded"), EventType::modified);  // a relist finding it changed
  cache.erase("a");                                        // deleted: forgotten
  EXPECT_EQ(put("7", "Running"), EventType::added);
  EXPECT_EQ(put("8", "Failed", "b"), EventType::added);  // a MODIFIED of an object not cached
  EXPECT_EQ(observer->calls, (std::vector<std::string>{"Pending>Running", "Running>Succeeded"}));
  // The digest is kept with the object.
  std::lock_guard lock(cache.mutex());
  EXPECT_EQ(cache.find("a")->digest, "Running");
}

TEST(TransitionHook, ACacheWithoutObserverKeepsNoDigest) {
  ObjectCache cache(FieldSelection({"status.phase"}));
  simdjson::dom::parser p;
  cache.upsert(p.parse(std::string(R"({"metadata":{"name":"a","resourceVersion":"1"},"status":{"phase":"Running"}})")).value());
  std::lock_guard lock(cache.mutex());
  EXPECT_EQ(cache.find("a")->digest, "");
}

// --- KubeVirt's semantics ----------------------------------------------------------

TEST(TransitionMetrics, PhaseChangesFromThePreviousPhaseOrFromCreation) {
  Harness h(kPhaseSeconds);
  h.apply(vmi("1", "", {}));                                   // no phase yet
  h.apply(vmi("2", "Pending", {"Pending@1"}));                 // "" -> Pending: from creation, 1 s
  h.apply(vmi("3", "Scheduling", {"Pending@1", "Scheduling@1"}));  // 0 s
  h.apply(vmi("4", "Scheduled", {"Pending@1", "Scheduling@1", "Scheduled@3"}));  // 2 s: le 2
  h.apply(vmi("5", "Running", {"Pending@1", "Scheduling@1", "Scheduled@3", "Running@9"}));  // 6 s: +Inf
  EXPECT_EQ(h.histograms(),
            "phase_seconds{last_phase=Pending,phase=Scheduling,} 0.5:1 1:1 2:1 5:1 count=1 sum=0\n"
            "phase_seconds{last_phase=Scheduled,phase=Running,} 0.5:0 1:0 2:0 5:0 count=1 sum=6\n"
            "phase_seconds{last_phase=Scheduling,phase=Scheduled,} 0.5:0 1:0 2:1 5:1 count=1 sum=2\n"
            "phase_seconds{phase=Pending,} 0.5:0 1:1 2:1 5:1 count=1 sum=1\n");
  EXPECT_EQ(h.errors(), 0u);
}

TEST(TransitionMetrics, NegativeDurationsAreZeroAndTheFirstEntryOfAPhaseCounts) {
  Harness h(kPhaseSeconds);
  h.apply(vmi("1", "Scheduled", {"Scheduled@10"}));
  // Running entered "before" Scheduled (clock skew): 0. A second Running
  // entry is not the one used.
  h.apply(vmi("2", "Running", {"Scheduled@10", "Running@8", "Running@30"}));
  EXPECT_EQ(h.histograms(), "phase_seconds{last_phase=Scheduled,phase=Running,} 0.5:1 1:1 2:1 5:1 count=1 sum=0\n");
}

TEST(TransitionMetrics, FromDeletionOnlyForAVmiMarkedForDeletionThatEnds) {
  Harness h(kFromDeletion);
  h.apply(vmi("1", "Running", {"Running@5"}));
  h.apply(vmi("2", "Running", {"Running@5"}, 10));            // marked, same phase: nothing
  h.apply(vmi("3", "Failed", {"Running@5", "Failed@70"}, 10));  // 60 s: le 60
  h.apply(vmi("1", "Running", {"Running@5"}, -1, "other"));
  h.apply(vmi("2", "Succeeded", {"Running@5", "Succeeded@9"}, -1, "other"));  // not marked: nothing
  EXPECT_EQ(h.histograms(), "from_deletion_seconds{phase=Failed,} 60:1 count=1 sum=60\n");
  EXPECT_EQ(h.errors(), 0u);
}

TEST(TransitionMetrics, MissingOrBadTimesAreLeftOutAndCounted) {
  Harness h(kPhaseSeconds);
  h.apply(vmi("1", "Running", {"Running@5"}));
  h.apply(vmi("2", "Succeeded", {"Running@5"}));  // no Succeeded entry
  h.apply(R"({"metadata":{"name":"b","namespace":"ns","resourceVersion":"1"},"status":{"phase":"Pending",)"
          R"("phaseTransitionTimestamps":[{"phase":"Pending","phaseTransitionTimestamp":"2026-11-23T10:00:00Z"}]}})");
  h.apply(R"({"metadata":{"name":"b","namespace":"ns","resourceVersion":"2"},"status":{"phase":"Running",)"
          R"("phaseTransitionTimestamps":[{"phase":"Pending","phaseTransitionTimestamp":"2026-11-23T10:00:00Z"},)"
          R"({"phase":"Running","phaseTransitionTimestamp":"soon"}]}})");
  // Back to no phase: nothing entered, nothing observed, no error.
  h.apply(R"({"metadata":{"name":"b","namespace":"ns","resourceVersion":"3"},"status":{}})");
  EXPECT_EQ(h.histograms(), "");
  EXPECT_EQ(h.errors(), 2u);
}

TEST(TransitionMetrics, WhyAnObservationIsLeftOut) {
  auto config = parse_metrics_config(config_with(kPhaseSeconds), "test.yaml");
  const auto& metric = config.resources.at(0).metrics.at(0);
  simdjson::dom::parser p;
  std::string why;
  auto doc = p.parse(vmi("1", "Running", {"Scheduled@1"})).value();
  EXPECT_EQ(transition_seconds(metric, doc, "Running", "Scheduled", why), std::nullopt);
  EXPECT_EQ(why, "[status,phaseTransitionTimestamps] has no element whose [phase] is Running");
  doc = p.parse(std::string(R"({"metadata":{"name":"a"},"status":{"phase":"Running","phaseTransitionTimestamps":[)"
                            R"({"phase":"Pending","phaseTransitionTimestamp":1}]}})"))
            .value();
  EXPECT_EQ(transition_seconds(metric, doc, "Running", "Pending", why), std::nullopt);
  EXPECT_EQ(why, "the [phaseTransitionTimestamp] of Pending in [status,phaseTransitionTimestamps] is not an RFC "
                 "3339 time: 1");
  EXPECT_EQ(transition_seconds(metric, doc, "Running", "", why), std::nullopt);
  EXPECT_EQ(why, "[metadata,creationTimestamp] is missing");
}

TEST(TransitionMetrics, GoTimesFractionsAndOffsets) {
  auto t = [](const char* s) { return *crs::parse_kube_time(s); };
  EXPECT_DOUBLE_EQ(crs::seconds_between(t("2026-11-23T10:00:00Z"), t("2026-11-23T10:00:00.3Z")), 0.3);
  EXPECT_DOUBLE_EQ(crs::seconds_between(t("2026-11-23T10:00:00Z"), t("2026-11-23T11:00:01+01:00")), 1);
  EXPECT_DOUBLE_EQ(crs::seconds_between(t("2026-11-23T10:00:01.5Z"), t("2026-11-23T10:00:00Z")), -1.5);
  // Go keeps nanoseconds and drops the digits past them.
  EXPECT_DOUBLE_EQ(crs::seconds_between(t("2026-11-23T10:00:00Z"), t("2026-11-23T10:00:00.0000000019Z")), 1e-9);
  // A duration beyond int64 nanoseconds saturates, as Go's Time.Sub does.
  EXPECT_DOUBLE_EQ(crs::seconds_between(t("0001-01-01T00:00:00Z"), t("2026-11-23T10:00:00Z")),
                   9223372036.854775807);
  for (const char* bad : {"2026-11-23", "2026-11-23T10:00:00", "2026-02-30T10:00:00Z", "2026-11-23T10:00:00.Z",
                          "yesterday", ""})
    EXPECT_FALSE(crs::parse_kube_time(bad)) << bad;
}

TEST(TransitionMetrics, TwoWatchedValuesOfOneObject) {
  Harness h(std::string(kPhaseSeconds) +
            "    - name: ready_seconds\n"
            "      each:\n"
            "        type: Transition\n"
            "        transition:\n"
            "          path: [status, ready]\n"
            "          timestamps: {path: [status, readyTimes], key: [ready], time: [at]}\n"
            "          from: [metadata, creationTimestamp]\n"
            "          labelName: ready\n"
            "          buckets: [10]\n");
  auto obj = [](const std::string& rv, const std::string& phase, const std::string& ready) {
    return R"({"metadata":{"name":"a","namespace":"ns","resourceVersion":")" + rv +
           R"(","creationTimestamp":"2026-11-23T10:00:00Z"},"status":{"phase":")" + phase + R"(","ready":)" + ready +
           R"(,"readyTimes":[{"ready":true,"at":"2026-11-23T10:00:04Z"},{"ready":false,"at":"2026-11-23T10:00:20Z"}],)"
           R"("phaseTransitionTimestamps":[{"phase":"A","phaseTransitionTimestamp":"2026-11-23T10:00:01Z"},)"
           R"({"phase":"B","phaseTransitionTimestamp":"2026-11-23T10:00:03Z"}]}})";
  };
  h.apply(obj("1", "A", "false"));
  h.apply(obj("2", "A", "true"));   // ready only: 4 s, a boolean as a label shows it
  h.apply(obj("3", "B", "false"));  // both: 2 s and 20 s
  EXPECT_EQ(h.histograms(),
            "phase_seconds{last_phase=A,phase=B,} 0.5:0 1:0 2:1 5:1 count=1 sum=2\n"
            "ready_seconds{ready=false,} 10:0 count=1 sum=20\n"
            "ready_seconds{ready=true,} 10:1 count=1 sum=4\n");
}

TEST(TransitionMetrics, InformersOfSeveralNamespacesObserveIntoOneHistogram) {
  Harness h(kPhaseSeconds);
  auto observer = h.transitions.observer(h.config.resources.at(0));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      ObjectCache cache(FieldSelection(crs::fields_read(h.config.resources.at(0))), observer);
      simdjson::dom::parser p;
      for (int i = 0; i < 500; ++i) {
        std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
        cache.upsert(p.parse(vmi("1", "Pending", {"Pending@0"}, -1, name)).value());
        cache.upsert(p.parse(vmi("2", "Running", {"Pending@0", "Running@1"}, -1, name)).value());
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.histograms(), "phase_seconds{last_phase=Pending,phase=Running,} 0.5:0 1:2000 2:2000 5:2000 count=2000 sum=2000\n");
}

TEST(TransitionMetrics, SnapshotsWriteHistogramSamplesInTheConfigsOrder) {
  auto config = parse_metrics_config(
      config_with("    - name: a_info\n"
                  "      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}\n" +
                  std::string(kPhaseSeconds)),
      "test.yaml");
  const auto& resource = config.resources.at(0);
  TransitionMetrics transitions({&resource});
  ObjectCache cache(FieldSelection(crs::fields_read(resource)), transitions.observer(resource));
  simdjson::dom::parser p;
  cache.upsert(p.parse(vmi("1", "Pending", {"Pending@0"})).value());
  cache.upsert(p.parse(vmi("2", "Running", {"Pending@0", "Running@2"})).value());
  ConfigMetrics metrics;
  std::vector<std::string> lines;
  std::string out;
  EXPECT_EQ(metrics.write({{&resource, *find_builtin_resource("vmi")}}, {{&cache}}, out, &transitions), 2u);
  for (std::size_t at = 0, nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(out.substr(at, nl + 1 - at));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "{\"name\":\"a_info\",\"type\":\"gauge\",\"labels\":{\"name\":\"vm\"},\"value\":1}\n");
  EXPECT_EQ(lines[1],
            "{\"name\":\"phase_seconds\",\"type\":\"histogram\",\"unit\":\"seconds\",\"labels\":{\"last_phase\":"
            "\"Pending\",\"phase\":\"Running\"},\"buckets\":{\"0.5\":0,\"1\":0,\"2\":1,\"5\":1,\"+Inf\":1},\"sum\":2,"
            "\"value\":1}\n");
}

// --- the config --------------------------------------------------------------------

TEST(TransitionConfig, FieldsReadKeepWhatTheHookReads) {
  auto config = parse_metrics_config(config_with(kFromDeletion), "test.yaml");
  EXPECT_EQ(crs::fields_read(config.resources.at(0)),
            (std::vector<std::string>{"metadata.creationTimestamp", "metadata.deletionTimestamp", "status.phase",
                                      "status.phaseTransitionTimestamps"}));
}

std::string transition(const std::string& body, const std::string& extra = "") {
  return "    - name: t\n" + extra +
         "      each:\n"
         "        type: Transition\n"
         "        transition:\n" +
         body;
}
const std::string kPath = "          path: [status, phase]\n";
const std::string kStamps =
    "          timestamps: {path: [status, phaseTransitionTimestamps], key: [phase], time: [phaseTransitionTimestamp]}\n";
const std::string kFrom = "          from: previous\n";
const std::string kLabel = "          labelName: phase\n";
const std::string kBuckets = "          buckets: [1, 2]\n";

TEST(TransitionConfig, ErrorsNameTheFileTheLineTheEntryAndTheProblem) {
  const std::string e = "resource 1 (VirtualMachineInstance) metric \"t\" each.transition: ";
  EXPECT_EQ(config_error(transition(kStamps + kFrom + kLabel + kBuckets)),
            "test.yaml:11: " + e + "path is missing (the value whose changes are observed, like [status, phase])");
  EXPECT_EQ(config_error(transition(kPath + kFrom + kLabel + kBuckets)),
            "test.yaml:11: " + e +
                "timestamps must be a mapping of path (a list), key and time (in each element), like {path: [status, "
                "phaseTransitionTimestamps], key: [phase], time: [phaseTransitionTimestamp]}");
  EXPECT_EQ(config_error(transition(kPath + "          timestamps: {path: [status, t], key: [phase]}\n" + kFrom +
                                    kLabel + kBuckets)),
            "test.yaml:12: resource 1 (VirtualMachineInstance) metric \"t\" each.transition.timestamps: time is "
            "missing (when the value was entered, from the element)");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kLabel + kBuckets)),
            "test.yaml:11: " + e +
                "from is missing (previous, or the path of a timestamp like [metadata, creationTimestamp])");
  EXPECT_EQ(config_error(transition(kPath + kStamps + "          from: creationTimestamp\n" + kLabel + kBuckets)),
            "test.yaml:13: " + e + "from must be previous or a path like [metadata, creationTimestamp], not "
                                   "\"creationTimestamp\"");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kBuckets)),
            "test.yaml:11: " + e + "labelName is missing (the label that names the new value)");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + "          labelName: le\n" + kBuckets)),
            "test.yaml:14: " + e + "labelName must be a label name other than le, not \"le\"");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kLabel + "          previousLabelName: phase\n" +
                                    kBuckets)),
            "test.yaml:15: " + e + "previousLabelName and labelName are the same label");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kLabel)),
            "test.yaml:11: " + e + "buckets must be a list of the histogram's upper bounds in seconds, like [0.5, 1, 5]");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kLabel + "          buckets: [1, 1m]\n")),
            "test.yaml:15: " + e + "a bucket bound must be a finite number, not \"1m\"");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kLabel + "          buckets: [1, .inf]\n")),
            "test.yaml:15: " + e + "a bucket bound must be a finite number, not \".inf\"");
  EXPECT_EQ(config_error(transition(kPath + kStamps + kFrom + kLabel + "          buckets: [1, 1.0]\n")),
            "test.yaml:15: " + e + "bucket bounds must increase; 1.0 comes after 1");
}

TEST(TransitionConfig, WhatATransitionMetricCannotHave) {
  const std::string all = kPath + kStamps + kFrom + kLabel + kBuckets;
  EXPECT_EQ(config_error(transition(all, "      aggregate: {op: count}\n")),
            "test.yaml:8: resource 1 (VirtualMachineInstance) metric \"t\": aggregate cannot be used with type "
            "Transition");
  EXPECT_EQ(config_error(transition(all, "      forEach: {path: [status, interfaces]}\n")),
            "test.yaml:8: resource 1 (VirtualMachineInstance) metric \"t\": forEach cannot be used with type "
            "Transition");
  EXPECT_EQ(config_error(transition(all, "      labelsFromPath: {le: [metadata, name]}\n")),
            "test.yaml:7: resource 1 (VirtualMachineInstance) metric \"t\": a Transition's labels cannot include "
            "le, which its buckets use");
  EXPECT_EQ(config_error(transition(all) + "    - name: t\n      each: {type: Gauge, gauge: {path: [status, x]}}\n"),
            "test.yaml:16: resource 1 (VirtualMachineInstance) metric \"t\": t is also the Transition histogram of "
            "test.yaml:7; one entry makes a histogram family");
  EXPECT_EQ(config_error(transition(all) + transition(all)),
            "test.yaml:16: resource 1 (VirtualMachineInstance) metric \"t\": t is also the Transition histogram of "
            "test.yaml:7; one entry makes a histogram family");
  // Transition is accepted in any case, as the other types are.
  EXPECT_EQ(config_error("    - name: t\n      each:\n        type: transition\n        transition:\n" + all),
            "no error");
}

}  // namespace
}  // namespace kv::watch
