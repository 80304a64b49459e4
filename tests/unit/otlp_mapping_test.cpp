// OTLP data points from merged snapshots (start times, resets, staleness)
// and their encodings. The end-to-end check against the official OTLP
// definitions is tests/kv-promfmt-otlp.bats; these pin the details.
#include <gtest/gtest.h>

#include <cmath>

#include "exposition.hpp"
#include "kv-promfmt/otlp_batch.hpp"
#include "kv-promfmt/otlp_encoder.hpp"
#include "record_parser.hpp"
#include "snapshot.hpp"

namespace kv::promfmt {
namespace {

std::shared_ptr<const Snapshot> snapshot_of(const std::vector<std::string>& lines) {
  RecordParser p;
  SnapshotBuilder b;
  for (const auto& line : lines) {
    EXPECT_EQ(p.parse(line), RecordKind::sample) << line;
    EXPECT_FALSE(b.add(p.sample())) << line;
  }
  return b.finish();
}

// Feeds the tracker one snapshot (one input) at `now`.
std::shared_ptr<const OtlpBatch> next(OtlpSeriesTracker& t, const std::vector<std::string>& lines,
                                      std::int64_t now) {
  auto snap = snapshot_of(lines);
  const Snapshot* ptrs[] = {snap.get()};
  return t.next(merge_snapshots(ptrs), {snap}, now);
}

struct Seen {
  std::string family;
  std::string labels;
  double value;
  std::int64_t time, start;
  bool stale;
};
std::vector<Seen> seen(const OtlpBatch& b) {
  std::vector<Seen> out;
  for (const OtlpPoint& p : b.points())
    out.push_back({std::string(b.families()[p.family].name), std::string(p.labels), p.value,
                   p.time_ms, p.start_ms, p.stale});
  return out;
}

TEST(OtlpTracker, CounterStartStaysUntilAResetThenStartsAtThePreviousPoint) {
  OtlpSeriesTracker t;
  auto c = [](double v) {
    return R"({"name":"c_total","type":"counter","labels":{"vm":"a"},"value":)" + std::to_string(v) + "}";
  };
  auto b1 = next(t, {c(10)}, 1000);
  auto b2 = next(t, {c(15)}, 2000);
  auto b3 = next(t, {c(3)}, 3000);  // reset
  auto b4 = next(t, {c(4)}, 4000);
  EXPECT_EQ(seen(*b1)[0].start, 1000);  // unknown start: its own time
  EXPECT_EQ(seen(*b2)[0].start, 1000);
  EXPECT_EQ(seen(*b3)[0].start, 2000);  // reset since the previous point
  EXPECT_EQ(seen(*b4)[0].start, 2000);
  EXPECT_EQ(seen(*b4)[0].time, 4000);
}

TEST(OtlpTracker, SampleTimestampsAreThePointTimes) {
  OtlpSeriesTracker t;
  auto b = next(t, {R"({"name":"c_total","type":"counter","value":1,"ts":500})",
                    R"({"name":"g","type":"gauge","value":1})"},
                9000);
  auto s = seen(*b);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].time, 500);
  EXPECT_EQ(s[0].start, 500);
  EXPECT_EQ(s[1].time, 9000);
  EXPECT_EQ(s[1].start, 0);  // gauges have none
}

TEST(OtlpTracker, AVanishedSeriesIsMarkedOnceInLabelOrderWithItsStart) {
  OtlpSeriesTracker t;
  next(t,
       {R"({"name":"c_total","type":"counter","labels":{"vm":"a"},"value":1})",
        R"({"name":"c_total","type":"counter","labels":{"vm":"b"},"value":1})",
        R"({"name":"c_total","type":"counter","labels":{"vm":"c"},"value":1})",
        R"({"name":"gone","type":"gauge","value":1})"},
       1000);
  auto b2 = next(t, {R"({"name":"c_total","type":"counter","labels":{"vm":"c"},"value":2})"}, 2000);
  auto s = seen(*b2);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].labels, R"({vm="a"})");
  EXPECT_TRUE(s[0].stale);
  EXPECT_EQ(s[0].start, 1000);
  EXPECT_EQ(s[0].time, 2000);
  EXPECT_EQ(s[1].labels, R"({vm="b"})");
  EXPECT_TRUE(s[1].stale);
  EXPECT_EQ(s[2].labels, R"({vm="c"})");
  EXPECT_FALSE(s[2].stale);
  EXPECT_EQ(s[3].family, "gone");
  EXPECT_TRUE(s[3].stale);
  EXPECT_EQ(b2->stale_points(), 3u);
  ASSERT_EQ(b2->families().size(), 2u);

  auto b3 = next(t, {R"({"name":"c_total","type":"counter","labels":{"vm":"c"},"value":3})"}, 3000);
  EXPECT_EQ(seen(*b3).size(), 1u);  // marked once, then forgotten
  EXPECT_EQ(b3->stale_points(), 0u);
}

TEST(OtlpTracker, ASeriesThatComesBackStartsAnew) {
  OtlpSeriesTracker t;
  const std::string c = R"({"name":"c_total","type":"counter","value":5})";
  next(t, {c}, 1000);
  next(t, {}, 2000);
  auto b3 = next(t, {c}, 3000);
  EXPECT_EQ(seen(*b3)[0].start, 3000);
}

TEST(OtlpTracker, AFamilyThatChangesTypeIsNotCarriedOver) {
  OtlpSeriesTracker t;
  next(t, {R"({"name":"m","type":"gauge","value":5})"}, 1000);
  auto b2 = next(t, {R"({"name":"m","type":"counter","value":7})"}, 2000);
  auto s = seen(*b2);
  ASSERT_EQ(s.size(), 1u);  // the same series: no marker
  EXPECT_EQ(s[0].start, 2000);
}

TEST(OtlpTracker, MarkersAreNotBeforeTheMergesLatestPoint) {
  OtlpSeriesTracker t;
  next(t, {R"({"name":"a","type":"gauge","value":1,"ts":5000})",
           R"({"name":"b","type":"gauge","value":1,"ts":5000})"},
       1000);
  auto b2 = next(t, {R"({"name":"b","type":"gauge","value":1,"ts":7000})"}, 1000);
  EXPECT_TRUE(seen(*b2)[0].stale);
  EXPECT_EQ(seen(*b2)[0].time, 7000);
}

TEST(OtlpTracker, AHistogramIsCumulativeAndResetsWhenItsCountGoesDown) {
  OtlpSeriesTracker t;
  auto h = [](int count) {
    return R"({"name":"h","type":"histogram","buckets":{"+Inf":)" + std::to_string(count) +
           R"(},"sum":1,"value":)" + std::to_string(count) + "}";
  };
  auto b1 = next(t, {h(5)}, 1000);
  auto b2 = next(t, {h(7)}, 2000);
  auto b3 = next(t, {h(2)}, 3000);  // reset
  auto b4 = next(t, {}, 4000);      // gone
  EXPECT_EQ(seen(*b1)[0].start, 1000);
  EXPECT_EQ(seen(*b2)[0].start, 1000);
  EXPECT_EQ(b2->points()[0].histogram->count, 7u);
  EXPECT_EQ(seen(*b3)[0].start, 2000);
  ASSERT_EQ(seen(*b4).size(), 1u);
  EXPECT_TRUE(seen(*b4)[0].stale);
  EXPECT_EQ(seen(*b4)[0].start, 2000);
  EXPECT_EQ(b4->points()[0].histogram, nullptr);
}

TEST(LabelSetCursor, WalksNamesAndEscapedValues) {
  LabelSetCursor c(R"({a="x\"y",b="\\",c="l1\nl2"})");
  std::string_view n, v;
  ASSERT_TRUE(c.next(n, v));
  EXPECT_EQ(n, "a");
  EXPECT_EQ(v, R"(x\"y)");
  ASSERT_TRUE(c.next(n, v));
  EXPECT_EQ(v, R"(\\)");
  ASSERT_TRUE(c.next(n, v));
  EXPECT_EQ(n, "c");
  std::string raw(unescaped_size(v), '\0');
  write_unescaped(raw.data(), v);
  EXPECT_EQ(raw, "l1\nl2");
  EXPECT_FALSE(c.next(n, v));
  LabelSetCursor empty("");
  EXPECT_FALSE(empty.next(n, v));
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s += static_cast<char>(c);
  return s;
}

TEST(OtlpEncoder, ProtobufBytesAreTheCanonicalEncoding) {
  OtlpSeriesTracker t;
  auto b = next(t, {R"({"name":"g","type":"gauge","labels":{"a":"b"},"value":1})"}, 1);
  auto bodies = encode_otlp(*b, {{"service.name", "x"}}, OtlpEncoding::protobuf);
  ASSERT_EQ(bodies.size(), 1u);
  std::string point = bytes({0x0A, 28,                                           // data_points
                             0x19, 0x40, 0x42, 0x0F, 0, 0, 0, 0, 0,              // time 1e6 ns
                             0x21, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,                 // as_double 1.0
                             0x3A, 8, 0x0A, 1, 'a', 0x12, 3, 0x0A, 1, 'b'});     // attributes a=b
  std::string metadata = bytes({0x62, 26, 0x0A, 15}) + "prometheus.type" + bytes({0x12, 7, 0x0A, 5}) + "gauge";
  std::string metric = bytes({0x12, 63, 0x0A, 1, 'g', 0x2A, 30}) + point + metadata;
  std::string scope = bytes({0x0A, 12, 0x0A, 10}) + "kv-promfmt";
  std::string resource = bytes({0x0A, 21, 0x0A, 19, 0x0A, 12}) + "service.name" + bytes({0x12, 3, 0x0A, 1, 'x'});
  std::string want = bytes({0x0A, 104}) + resource + bytes({0x12, 79}) + scope + metric;
  EXPECT_EQ(bodies[0], want);
}

TEST(OtlpEncoder, AHistogramPointInProtobuf) {
  OtlpSeriesTracker t;
  auto b = next(t, {R"({"name":"h","type":"histogram","labels":{"a":"b"},"buckets":{"1":1,"2":3,"+Inf":4},"sum":2,"value":4})"}, 1);
  auto bodies = encode_otlp(*b, {{"service.name", "x"}}, OtlpEncoding::protobuf);
  ASSERT_EQ(bodies.size(), 1u);
  std::string point = bytes({0x0A, 90,                                            // data_points
                             0x11, 0x40, 0x42, 0x0F, 0, 0, 0, 0, 0,               // start 1e6 ns
                             0x19, 0x40, 0x42, 0x0F, 0, 0, 0, 0, 0,               // time 1e6 ns
                             0x21, 4, 0, 0, 0, 0, 0, 0, 0,                        // count 4
                             0x29, 0, 0, 0, 0, 0, 0, 0, 0x40,                     // sum 2.0
                             0x32, 24, 1, 0, 0, 0, 0, 0, 0, 0,                    // bucket_counts 1,
                             2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,      //   2, 1 (per bucket)
                             0x3A, 16, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F,              // explicit_bounds 1.0,
                             0, 0, 0, 0, 0, 0, 0, 0x40,                           //   2.0
                             0x4A, 8, 0x0A, 1, 'a', 0x12, 3, 0x0A, 1, 'b'});      // attributes a=b
  std::string histogram = bytes({0x4A, 94}) + point + bytes({0x10, 2});  // cumulative
  std::string metadata = bytes({0x62, 30, 0x0A, 15}) + "prometheus.type" + bytes({0x12, 11, 0x0A, 9}) + "histogram";
  std::string metric = bytes({0x12, 0x83, 0x01, 0x0A, 1, 'h'}) + histogram + metadata;
  std::string scope = bytes({0x0A, 12, 0x0A, 10}) + "kv-promfmt";
  std::string resource = bytes({0x0A, 21, 0x0A, 19, 0x0A, 12}) + "service.name" + bytes({0x12, 3, 0x0A, 1, 'x'});
  std::string want = bytes({0x0A, 0xAE, 0x01}) + resource + bytes({0x12, 0x94, 0x01}) + scope + metric;
  EXPECT_EQ(bodies[0], want);
}

TEST(OtlpEncoder, AHistogramPointInJson) {
  OtlpSeriesTracker t;
  auto b = next(t,
                {R"({"name":"h","type":"histogram","unit":"seconds","labels":{"k":"1"},"buckets":{"0.5":1,"1":1,"+Inf":4},"sum":2.5,"value":4})",
                 R"({"name":"h","type":"histogram","labels":{"k":"2"},"buckets":{"+Inf":0},"sum":0,"value":0})",
                 R"({"name":"h","type":"histogram","labels":{"k":"3"},"buckets":{"-1":1,"+Inf":1},"sum":-2,"value":1})"},
                1);
  std::string j = encode_otlp(*b, {}, OtlpEncoding::json)[0];
  EXPECT_NE(j.find(R"("unit":"s","histogram":{"dataPoints":[)"), std::string::npos) << j;
  // Counts per bucket, not cumulative, one more than the bounds, which are the finite ones.
  EXPECT_NE(j.find(R"("count":"4","sum":2.5,"bucketCounts":["1","0","3"],"explicitBounds":[0.5,1]})"),
            std::string::npos) << j;
  // A zero count is the default, left out; the sum is there even when 0.
  EXPECT_NE(j.find(R"("timeUnixNano":"1000000","sum":0,"bucketCounts":["0"]})"), std::string::npos) << j;
  // Negative observations: no sum.
  EXPECT_NE(j.find(R"("count":"1","bucketCounts":["1","0"],"explicitBounds":[-1]})"), std::string::npos) << j;
  EXPECT_NE(j.find(R"(],"aggregationTemporality":2},"metadata":[{"key":"prometheus.type","value":{"stringValue":"histogram"}}]})"),
            std::string::npos) << j;
}

TEST(OtlpEncoder, ACounterIsAMonotonicCumulativeSumAndAMarkerHasNoValue) {
  OtlpSeriesTracker t;
  next(t, {R"({"name":"c_total","type":"counter","value":2})"}, 1);
  auto b = next(t, {}, 2);
  auto json = encode_otlp(*b, {{"service.name", "x"}}, OtlpEncoding::json);
  ASSERT_EQ(json.size(), 1u);
  EXPECT_NE(json[0].find(R"("sum":{"dataPoints":[{"startTimeUnixNano":"1000000","timeUnixNano":"2000000","flags":1}],"aggregationTemporality":2,"isMonotonic":true})"),
            std::string::npos)
      << json[0];
}

TEST(OtlpEncoder, JsonValuesFollowTheProto3Mapping) {
  OtlpSeriesTracker t;
  auto b = next(t,
                {R"({"name":"v","type":"gauge","labels":{"k":"1"},"value":"NaN"})",
                 R"({"name":"v","type":"gauge","labels":{"k":"2"},"value":"+Inf"})",
                 R"({"name":"v","type":"gauge","labels":{"k":"3"},"value":"-Inf"})",
                 R"({"name":"v","type":"gauge","labels":{"k":"4"},"value":0.1})",
                 R"({"name":"v","type":"gauge","labels":{"k":"5\t\"x\""},"value":0})"},
                1);
  std::string j = encode_otlp(*b, {}, OtlpEncoding::json)[0];
  EXPECT_NE(j.find(R"("asDouble":"NaN")"), std::string::npos);
  EXPECT_NE(j.find(R"("asDouble":"Infinity")"), std::string::npos);
  EXPECT_NE(j.find(R"("asDouble":"-Infinity")"), std::string::npos);
  EXPECT_NE(j.find(R"("asDouble":0.1)"), std::string::npos);
  EXPECT_NE(j.find(R"({"stringValue":"5\t\"x\""})"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("asDouble":0})"), std::string::npos);  // a oneof member is written even when 0
}

TEST(OtlpEncoder, SplitsAtTheSizeLimitAndKeepsEveryPoint) {
  OtlpSeriesTracker t;
  std::vector<std::string> lines;
  for (int i = 0; i < 300; ++i)
    lines.push_back(R"({"name":"f)" + std::to_string(i % 7) + R"(","type":"gauge","labels":{"i":")" +
                    std::to_string(i) + R"("},"value":)" + std::to_string(i) + "}");
  auto b = next(t, lines, 1);
  for (auto encoding : {OtlpEncoding::protobuf, OtlpEncoding::json}) {
    auto whole = encode_otlp(*b, {{"service.name", "x"}}, encoding);
    ASSERT_EQ(whole.size(), 1u);
    auto parts = encode_otlp(*b, {{"service.name", "x"}}, encoding, 1024);
    EXPECT_GT(parts.size(), 5u);
    std::size_t points = 0;
    for (const auto& p : parts) {
      EXPECT_LE(p.size(), 1024u);
      if (encoding == OtlpEncoding::json) {
        for (std::size_t at = p.find("timeUnixNano"); at != std::string::npos; at = p.find("timeUnixNano", at + 1))
          ++points;
      }
    }
    if (encoding == OtlpEncoding::json) {
      EXPECT_EQ(points, 300u);
    }
  }
}

TEST(OtlpEncoder, NoPointsNoRequest) {
  OtlpSeriesTracker t;
  auto b = next(t, {}, 1);
  EXPECT_TRUE(encode_otlp(*b, {}, OtlpEncoding::protobuf).empty());
}

TEST(OtlpUnit, PrometheusUnitsBecomeUcum) {
  EXPECT_EQ(otlp_unit("seconds"), "s");
  EXPECT_EQ(otlp_unit("bytes"), "By");
  EXPECT_EQ(otlp_unit("percent"), "%");
  EXPECT_EQ(otlp_unit("celsius"), "Cel");
  EXPECT_EQ(otlp_unit("bytes_per_second"), "By/s");
  EXPECT_EQ(otlp_unit("meters_per_second"), "m/s");
  EXPECT_EQ(otlp_unit("widgets_per_second"), "widgets_per_second");
  EXPECT_EQ(otlp_unit("widgets"), "widgets");
  EXPECT_EQ(otlp_unit(""), "");
}

}  // namespace
}  // namespace kv::promfmt
