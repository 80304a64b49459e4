// ConfigMetrics' snapshots from the series kept with each cached object:
// the same bytes as when every object is evaluated, and changes seen.
#include <gtest/gtest.h>

#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"

namespace kv::watch {
namespace {

constexpr const char* kConfig = R"(
spec:
  resources:
  - groupVersionKind: {group: "", version: v1, kind: Pod}
    customResourceLabels: false
    metricNamePrefix: ""
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: t_up
      help: "up"
      each: {type: Gauge, gauge: {path: [status, up]}}
    - name: t_phases
      help: "phases"
      aggregate: {op: count, by: [phase]}
      each: {type: Info, info: {path: [status], labelsFromPath: {phase: [phase]}}}
)";

struct Fixture {
  crs::MetricsConfig config = crs::parse_metrics_config(kConfig, "c.yaml");
  std::vector<ConfiguredResource> resources{{&config.resources.at(0), *find_builtin_resource("pods")}};
  ObjectCache cache{FieldSelection(crs::fields_read(config.resources.at(0)))};
  simdjson::dom::parser parser;

  void put(const std::string& name, const std::string& rv, const std::string& up, const std::string& phase) {
    std::string json = R"({"metadata":{"namespace":"ns","name":")" + name + R"(","resourceVersion":")" + rv +
                       R"("},"status":{"up":)" + up + R"(,"phase":")" + phase + R"("},"spec":{"ignored":")" + rv + "\"}}";
    cache.upsert(parser.parse(json).value());
  }
  std::string snapshot(ConfigMetrics& metrics) {
    std::string out;
    metrics.write(resources, {{&cache}}, out);
    return out;
  }
  const SeriesMemo* memo(const std::string& name) { return cache.find("ns/" + name)->memo.get(); }
};

TEST(ConfigMetricsMemo, KeptSeriesGiveTheBytesOfAFreshEvaluation) {
  Fixture f;
  f.put("a", "1", "1", "Running");
  f.put("b", "2", "0", "Pending");
  f.put("c", "3", "1", "Running");
  ConfigMetrics metrics;
  std::string first = f.snapshot(metrics);
  EXPECT_EQ(first,
            "{\"name\":\"t_up\",\"type\":\"gauge\",\"help\":\"up\",\"labels\":{\"name\":\"a\"},\"value\":1}\n"
            "{\"name\":\"t_up\",\"type\":\"gauge\",\"labels\":{\"name\":\"b\"},\"value\":0}\n"
            "{\"name\":\"t_up\",\"type\":\"gauge\",\"labels\":{\"name\":\"c\"},\"value\":1}\n"
            "{\"name\":\"t_phases\",\"type\":\"gauge\",\"help\":\"phases\",\"labels\":{\"phase\":\"Pending\"},"
            "\"value\":1}\n"
            "{\"name\":\"t_phases\",\"type\":\"gauge\",\"labels\":{\"phase\":\"Running\"},\"value\":2}\n");
  const SeriesMemo* kept = f.memo("a");
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(f.snapshot(metrics), first);  // from the memos
  EXPECT_EQ(f.memo("a"), kept);
  ConfigMetrics fresh;
  EXPECT_EQ(f.snapshot(fresh), first);  // the memos belong to the entry, not to a ConfigMetrics
}

TEST(ConfigMetricsMemo, ANewVersionIsEvaluatedOnlyWhenItsKeptFieldsChanged) {
  Fixture f;
  f.put("a", "1", "1", "Running");
  f.put("b", "2", "0", "Pending");
  ConfigMetrics metrics;
  f.snapshot(metrics);
  const SeriesMemo* a = f.memo("a");
  // Only the resourceVersion (and a field no metric reads) changed: kept.
  f.put("a", "5", "1", "Running");
  EXPECT_EQ(f.memo("a"), a);
  // The value changed: evaluated again, and the snapshot says so.
  f.put("b", "6", "1", "Running");
  EXPECT_EQ(f.memo("b"), nullptr);
  std::string out = f.snapshot(metrics);
  EXPECT_NE(out.find("\"labels\":{\"name\":\"b\"},\"value\":1}"), std::string::npos) << out;
  EXPECT_NE(out.find("\"labels\":{\"phase\":\"Running\"},\"value\":2}"), std::string::npos) << out;
  EXPECT_EQ(out.find("Pending"), std::string::npos) << out;
  // The first line of the family carries the help, whichever object it comes from.
  f.cache.erase("ns/a");
  out = f.snapshot(metrics);
  EXPECT_EQ(out.rfind("{\"name\":\"t_up\",\"type\":\"gauge\",\"help\":\"up\",\"labels\":{\"name\":\"b\"}", 0), 0u) << out;
}

TEST(ConfigMetricsMemo, SeriesLeftOutAreCountedAtEachSnapshot) {
  Fixture f;
  f.put("a", "1", "\"x\"", "Running");  // not a number
  ConfigMetrics metrics;
  f.snapshot(metrics);
  EXPECT_EQ(metrics.errors().at("t_up"), 1u);
  f.snapshot(metrics);
  EXPECT_EQ(metrics.errors().at("t_up"), 2u);
}

TEST(ConfigMetricsThreads, ManyObjectsSharedOutGiveTheBytesAndCountsOfOneThread) {
  // Enough objects for three threads to share; every tenth fails to convert.
  Fixture one, three;
  for (int i = 0; i < 7000; ++i) {
    std::string name = "p" + std::to_string(i), up = i % 10 == 0 ? "\"x\"" : std::to_string(i % 3);
    std::string phase = i % 2 ? "Running" : "Pending";
    one.put(name, "1", up, phase);
    three.put(name, "1", up, phase);
  }
  ConfigMetrics sequential, parallel;
  parallel.set_threads(3);
  std::string expected = one.snapshot(sequential);
  EXPECT_EQ(three.snapshot(parallel), expected);
  EXPECT_EQ(parallel.errors().at("t_up"), 700u);
  EXPECT_EQ(parallel.errors(), sequential.errors());
  // A change after the first snapshot: one object evaluated, same bytes.
  one.put("p7", "2", "5", "Running");
  three.put("p7", "2", "5", "Running");
  EXPECT_EQ(three.snapshot(parallel), one.snapshot(sequential));
}

}  // namespace
}  // namespace kv::watch
