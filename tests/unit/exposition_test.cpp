#include "exposition.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "record_parser.hpp"
#include "snapshot.hpp"

namespace kv {
namespace {

std::shared_ptr<Snapshot> snapshot_of(const std::vector<std::string>& lines,
                                      std::size_t* rejected = nullptr) {
  RecordParser p;
  SnapshotBuilder b;
  for (const auto& line : lines) {
    EXPECT_EQ(p.parse(line), RecordKind::sample) << line << ": " << p.reject().message;
    if (auto r = b.add(p.sample()); r && rejected) ++*rejected;
  }
  return b.finish();
}

std::string render_one(const Snapshot& s, ExpositionFormat f, bool ts = false) {
  const Snapshot* ptrs[] = {&s};
  return render_to_string(merge_snapshots(ptrs), {f, ts});
}

TEST(Exposition, SortsFamiliesAndSeriesAndWritesHeadersOnce) {
  auto s = snapshot_of({
      R"({"name":"b","type":"gauge","help":"B","labels":{"x":"2"},"value":2})",
      R"({"name":"a_total","type":"counter","help":"A","labels":{"x":"1"},"value":1})",
      R"({"name":"b","type":"gauge","help":"ignored","labels":{"x":"1"},"value":1})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text),
            "# HELP a_total A\n# TYPE a_total counter\na_total{x=\"1\"} 1\n"
            "# HELP b B\n# TYPE b gauge\nb{x=\"1\"} 1\nb{x=\"2\"} 2\n");
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics),
            "# TYPE a counter\n# HELP a A\na_total{x=\"1\"} 1\n"
            "# TYPE b gauge\n# HELP b B\nb{x=\"1\"} 1\nb{x=\"2\"} 2\n# EOF\n");
}

TEST(Exposition, DuplicateSeriesLastWins) {
  auto s = snapshot_of({
      R"({"name":"g","labels":{"a":"1"},"value":1})",
      R"({"name":"g","labels":{"a":"1"},"value":2})",
      R"({"name":"g","labels":{"a":"1"},"value":3})",
  });
  EXPECT_EQ(s->duplicates, 2u);
  EXPECT_EQ(s->first_duplicate, "g{a=\"1\"}");
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text), "# TYPE g untyped\ng{a=\"1\"} 3\n");
}

TEST(Exposition, TypeConflictInOneSnapshotIsRejected) {
  RecordParser p;
  SnapshotBuilder b;
  ASSERT_EQ(p.parse(R"({"name":"m","type":"gauge","value":1})"), RecordKind::sample);
  EXPECT_FALSE(b.add(p.sample()));
  ASSERT_EQ(p.parse(R"({"name":"m","type":"counter","value":1})"), RecordKind::sample);
  auto r = b.add(p.sample());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, RejectReason::type_conflict);
  EXPECT_EQ(r->message, "metric \"m\" has type counter but earlier samples of it had gauge");
}

TEST(Exposition, EscapesLabelValuesAndHelpPerFormat) {
  auto s = snapshot_of({
      R"({"name":"e","type":"gauge","help":"q\" b\\ n\n é","labels":{"l":"q\" b\\ n\n é"},"value":1})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text),
            "# HELP e q\" b\\\\ n\\n é\n# TYPE e gauge\ne{l=\"q\\\" b\\\\ n\\n é\"} 1\n");
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics),
            "# TYPE e gauge\n# HELP e q\\\" b\\\\ n\\n é\ne{l=\"q\\\" b\\\\ n\\n é\"} 1\n# EOF\n");
}

TEST(Exposition, ValuesAndTimestamps) {
  auto s = snapshot_of({
      R"({"name":"v","labels":{"i":"1"},"value":0.1,"ts":1763856000123})",
      R"({"name":"v","labels":{"i":"2"},"value":"NaN","ts":-1500})",
      R"({"name":"v","labels":{"i":"3"},"value":"+Inf"})",
      R"({"name":"v","labels":{"i":"4"},"value":"-Inf"})",
      R"({"name":"v","labels":{"i":"5"},"value":1e300})",
      R"({"name":"v","labels":{"i":"6"},"value":-0.0})",
      R"({"name":"v","labels":{"i":"7"},"value":123456789012})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text, true),
            "# TYPE v untyped\n"
            "v{i=\"1\"} 0.1 1763856000123\nv{i=\"2\"} NaN -1500\nv{i=\"3\"} +Inf\n"
            "v{i=\"4\"} -Inf\nv{i=\"5\"} 1e+300\nv{i=\"6\"} -0\nv{i=\"7\"} 123456789012\n");
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics, true),
            "# TYPE v unknown\n"
            "v{i=\"1\"} 0.1 1763856000.123\nv{i=\"2\"} NaN -1.500\nv{i=\"3\"} +Inf\n"
            "v{i=\"4\"} -Inf\nv{i=\"5\"} 1e+300\nv{i=\"6\"} -0\nv{i=\"7\"} 123456789012\n# EOF\n");
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text, false).find("1763856000123"),
            std::string::npos);
}

TEST(Exposition, OpenMetricsCounterNamesUnitsAndClashes) {
  auto s = snapshot_of({
      R"({"name":"c_seconds_total","type":"counter","unit":"seconds","value":1})",
      R"({"name":"no_suffix","type":"counter","value":1})",
      R"({"name":"x_total","type":"counter","value":1})",
      R"({"name":"x","type":"gauge","value":2})",
      R"({"name":"g_bytes","type":"gauge","unit":"seconds","value":1})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics),
            "# TYPE c_seconds counter\n# UNIT c_seconds seconds\nc_seconds_total 1\n"
            "# TYPE g_bytes gauge\ng_bytes 1\n"
            "# TYPE no_suffix unknown\nno_suffix 1\n"
            "# TYPE x gauge\nx 2\n"
            "# TYPE x_total unknown\nx_total 1\n# EOF\n");
}

TEST(Exposition, MergesInputsLaterWinsAndTypeConflictsDropTheLater) {
  auto a = snapshot_of({
      R"({"name":"m","type":"gauge","labels":{"k":"1"},"value":1})",
      R"({"name":"m","type":"gauge","labels":{"k":"3"},"value":3})",
      R"({"name":"t","type":"gauge","value":1})",
  });
  auto b = snapshot_of({
      R"({"name":"m","type":"gauge","help":"from b","labels":{"k":"2"},"value":2})",
      R"({"name":"m","type":"gauge","labels":{"k":"3"},"value":30})",
      R"({"name":"t","type":"counter","value":5})",
  });
  const Snapshot* both[] = {a.get(), b.get()};
  MergedView view = merge_snapshots(both);
  EXPECT_EQ(view.conflicts, std::vector<std::string>{"t"});
  EXPECT_EQ(render_to_string(view, {}),
            "# HELP m from b\n# TYPE m gauge\nm{k=\"1\"} 1\nm{k=\"2\"} 2\nm{k=\"3\"} 30\n"
            "# TYPE t gauge\nt 1\n");
}

TEST(Exposition, SeriesAreOrderedByLabelSetAndEmptyValuesAreAbsent) {
  auto s = snapshot_of({
      R"({"name":"o","labels":{"a":"x","b":"y"},"value":3})",
      R"({"name":"o","labels":{"a":"x y"},"value":2})",
      R"({"name":"o","labels":{"a":"x"},"value":1})",
      R"({"name":"o","labels":{"a":"x\"q"},"value":4})",
      R"({"name":"o","labels":{"aa":"1"},"value":5})",
      R"({"name":"o","labels":{"a":"","c":""},"value":0})",
      R"({"name":"e","labels":{"a":""},"value":1})",
      R"({"name":"e","value":2})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text),
            "# TYPE e untyped\ne 2\n"
            "# TYPE o untyped\no 0\no{a=\"x\"} 1\no{a=\"x\",b=\"y\"} 3\no{a=\"x y\"} 2\n"
            "o{a=\"x\\\"q\"} 4\no{aa=\"1\"} 5\n");
  EXPECT_EQ(s->duplicates, 1u);
}

TEST(Exposition, LabelSetOrderIsAStrictTotalOrder) {
  std::vector<std::string> sets = {"", "{a=\"x\"}", "{a=\"x y\"}", "{a=\"x\",b=\"y\"}",
                                   "{a=\"x=y\"}", "{a=\"x\\\"\"}", "{a=\"x\\\\\"}",
                                   "{a=\"x\\n\"}", "{aa=\"x\"}", "{a=\"x}\"}", "{a=\"x,\"}"};
  for (const auto& a : sets)
    for (const auto& b : sets) {
      if (a == b) {
        EXPECT_FALSE(label_set_less(a, b)) << a;
      } else {
        EXPECT_NE(label_set_less(a, b), label_set_less(b, a)) << a << " vs " << b;
      }
      for (const auto& c : sets) {
        if (label_set_less(a, b) && label_set_less(b, c)) {
          EXPECT_TRUE(label_set_less(a, c)) << a << " < " << b << " < " << c;
        }
      }
    }
}

TEST(Exposition, OpenMetricsCounterFamilyMustNotClashWithCreated) {
  auto s = snapshot_of({
      R"({"name":"foo_total","type":"counter","value":1})",
      R"({"name":"foo_created","type":"gauge","value":1})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics),
            "# TYPE foo_created gauge\nfoo_created 1\n# TYPE foo_total unknown\nfoo_total 1\n# EOF\n");
}

TEST(Exposition, ExtremeTimestamps) {
  auto s = snapshot_of({R"({"name":"t","value":1,"ts":-9223372036854775808})"});
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics, true),
            "# TYPE t unknown\nt 1 -9223372036854775.808\n# EOF\n");
}

TEST(Exposition, HistogramsInPrometheusText) {
  auto s = snapshot_of({
      R"({"name":"h_seconds","type":"histogram","help":"H.","unit":"seconds","labels":{"phase":"b"},)"
      R"("buckets":{"0.5":1,"1":3,"1e+06":3,"+Inf":4},"sum":2.75,"value":4,"ts":1763856000123})",
      R"({"name":"h_seconds","type":"histogram","labels":{"phase":"a"},"buckets":{"+Inf":0},"sum":0,"value":0})",
      R"({"name":"n","type":"histogram","buckets":{"1.0":1,"+Inf":1},"sum":0.5,"value":1})",
  });
  // Buckets in increasing order with le after the series' labels, +Inf, then
  // _sum and _count; le as Go writes it ("1", "1e+06"); series by labels.
  EXPECT_EQ(render_one(*s, ExpositionFormat::prometheus_text, true),
            "# HELP h_seconds H.\n# TYPE h_seconds histogram\n"
            "h_seconds_bucket{phase=\"a\",le=\"+Inf\"} 0\n"
            "h_seconds_sum{phase=\"a\"} 0\n"
            "h_seconds_count{phase=\"a\"} 0\n"
            "h_seconds_bucket{phase=\"b\",le=\"0.5\"} 1 1763856000123\n"
            "h_seconds_bucket{phase=\"b\",le=\"1\"} 3 1763856000123\n"
            "h_seconds_bucket{phase=\"b\",le=\"1e+06\"} 3 1763856000123\n"
            "h_seconds_bucket{phase=\"b\",le=\"+Inf\"} 4 1763856000123\n"
            "h_seconds_sum{phase=\"b\"} 2.75 1763856000123\n"
            "h_seconds_count{phase=\"b\"} 4 1763856000123\n"
            "# TYPE n histogram\n"
            "n_bucket{le=\"1\"} 1\nn_bucket{le=\"+Inf\"} 1\nn_sum 0.5\nn_count 1\n");
  EXPECT_EQ(s->size(), 3u);  // one series per histogram, however many buckets
}

TEST(Exposition, HistogramsInOpenMetrics) {
  auto s = snapshot_of({
      R"({"name":"h_seconds","type":"histogram","help":"H.","unit":"seconds","labels":{"phase":"b"},)"
      R"("buckets":{"0.5":1,"1":3,"+Inf":4},"sum":2.75,"value":4,"ts":1763856000123})",
      // Negative bounds or sum: OpenMetrics allows neither _sum nor _count.
      R"({"name":"t","type":"histogram","labels":{"k":"neg_bound"},"buckets":{"-1":0,"+Inf":2},"sum":3,"value":2})",
      R"({"name":"t","type":"histogram","labels":{"k":"neg_sum"},"buckets":{"1":2,"+Inf":2},"sum":-3,"value":2})",
      R"({"name":"t","type":"histogram","labels":{"k":"nan_sum"},"buckets":{"+Inf":2},"sum":"NaN","value":2})",
      R"({"name":"t","type":"histogram","labels":{"k":"zero"},"buckets":{"0":1,"+Inf":2},"sum":0,"value":2})",
  });
  EXPECT_EQ(render_one(*s, ExpositionFormat::openmetrics, true),
            "# TYPE h_seconds histogram\n# UNIT h_seconds seconds\n# HELP h_seconds H.\n"
            "h_seconds_bucket{phase=\"b\",le=\"0.5\"} 1 1763856000.123\n"
            "h_seconds_bucket{phase=\"b\",le=\"1.0\"} 3 1763856000.123\n"
            "h_seconds_bucket{phase=\"b\",le=\"+Inf\"} 4 1763856000.123\n"
            "h_seconds_sum{phase=\"b\"} 2.75 1763856000.123\n"
            "h_seconds_count{phase=\"b\"} 4 1763856000.123\n"
            "# TYPE t histogram\n"
            "t_bucket{k=\"nan_sum\",le=\"+Inf\"} 2\n"
            "t_bucket{k=\"neg_bound\",le=\"-1.0\"} 0\nt_bucket{k=\"neg_bound\",le=\"+Inf\"} 2\n"
            "t_bucket{k=\"neg_sum\",le=\"1.0\"} 2\nt_bucket{k=\"neg_sum\",le=\"+Inf\"} 2\n"
            "t_bucket{k=\"zero\",le=\"0.0\"} 1\nt_bucket{k=\"zero\",le=\"+Inf\"} 2\n"
            "t_sum{k=\"zero\"} 0\nt_count{k=\"zero\"} 2\n"
            "# EOF\n");
  // Prometheus text has no such rule.
  EXPECT_NE(render_one(*s, ExpositionFormat::prometheus_text).find("t_sum{k=\"neg_bound\"} 3\n"),
            std::string::npos);
}

TEST(Exposition, HistogramsMergeAcrossInputsLaterWins) {
  auto a = snapshot_of({
      R"({"name":"h","type":"histogram","help":"from a","labels":{"vm":"1"},"buckets":{"1":1,"+Inf":1},"sum":1,"value":1})",
      R"({"name":"h","type":"histogram","labels":{"vm":"3"},"buckets":{"1":1,"+Inf":1},"sum":1,"value":1})",
  });
  auto b = snapshot_of({
      R"({"name":"h","type":"histogram","labels":{"vm":"2"},"buckets":{"1":0,"+Inf":2},"sum":8,"value":2})",
      R"({"name":"h","type":"histogram","labels":{"vm":"3"},"buckets":{"2":5,"+Inf":5},"sum":5,"value":5})",
  });
  const Snapshot* both[] = {a.get(), b.get()};
  EXPECT_EQ(render_to_string(merge_snapshots(both), {}),
            "# HELP h from a\n# TYPE h histogram\n"
            "h_bucket{vm=\"1\",le=\"1\"} 1\nh_bucket{vm=\"1\",le=\"+Inf\"} 1\nh_sum{vm=\"1\"} 1\nh_count{vm=\"1\"} 1\n"
            "h_bucket{vm=\"2\",le=\"1\"} 0\nh_bucket{vm=\"2\",le=\"+Inf\"} 2\nh_sum{vm=\"2\"} 8\nh_count{vm=\"2\"} 2\n"
            "h_bucket{vm=\"3\",le=\"2\"} 5\nh_bucket{vm=\"3\",le=\"+Inf\"} 5\nh_sum{vm=\"3\"} 5\nh_count{vm=\"3\"} 5\n");
}

TEST(Exposition, AFamilyNamedLikeAHistogramsSeriesIsDropped) {
  auto a = snapshot_of({
      R"({"name":"h","type":"histogram","buckets":{"+Inf":1},"sum":1,"value":1})",
      R"({"name":"h_count","type":"gauge","value":7})",
      R"({"name":"h_bucket","type":"gauge","value":7})",
      R"({"name":"h_total","type":"counter","value":7})",
      R"({"name":"h_count_total","type":"counter","value":7})",
  });
  const Snapshot* one[] = {a.get()};
  MergedView view = merge_snapshots(one);
  EXPECT_EQ(view.clashes, (std::vector<std::string>{"h_bucket", "h_count"}));
  EXPECT_EQ(render_to_string(view, {}),
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
            "# TYPE h_count_total counter\nh_count_total 7\n"
            "# TYPE h_total counter\nh_total 7\n");
  // In OpenMetrics the counters keep _total in their family names: "h" and
  // "h_count" are taken.
  EXPECT_EQ(render_to_string(view, {ExpositionFormat::openmetrics}),
            "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
            "# TYPE h_count_total unknown\nh_count_total 7\n"
            "# TYPE h_total unknown\nh_total 7\n# EOF\n");
}

TEST(Exposition, RendersInChunksToASink) {
  std::vector<std::string> lines;
  for (int i = 0; i < 5000; ++i)
    lines.push_back(R"({"name":"m","labels":{"i":")" + std::to_string(100000 + i) +
                    R"("},"value":1})");
  auto s = snapshot_of(lines);
  const Snapshot* ptrs[] = {s.get()};
  MergedView view = merge_snapshots(ptrs);
  std::string streamed;
  int chunks = 0;
  RenderBuffer out(
      [&](std::string_view c) {
        streamed += c;
        ++chunks;
      },
      4096);
  render(view, {}, out);
  EXPECT_GT(chunks, 10);
  EXPECT_EQ(streamed, render_to_string(view, {}));
}

}  // namespace
}  // namespace kv
