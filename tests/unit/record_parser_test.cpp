#include "record_parser.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace kv {
namespace {

TEST(RecordParser, ParsesAFullSample) {
  RecordParser p;
  ASSERT_EQ(p.parse(R"({"name":"a_total","type":"counter","help":"h","unit":"bytes",)"
                    R"("labels":{"z":"1","b":"x\"y"},"value":3.5,"ts":1763856000123})"),
            RecordKind::sample);
  const SampleRecord& s = p.sample();
  EXPECT_EQ(s.name, "a_total");
  EXPECT_EQ(s.type, MetricType::counter);
  EXPECT_EQ(s.help, "h");
  EXPECT_EQ(s.unit, "bytes");
  ASSERT_EQ(s.labels.size(), 2u);
  EXPECT_EQ(s.labels[0], (LabelPair{"b", "x\"y"}));  // sorted, unescaped
  EXPECT_EQ(s.labels[1], (LabelPair{"z", "1"}));
  EXPECT_DOUBLE_EQ(s.value, 3.5);
  EXPECT_EQ(s.timestamp_ms, 1763856000123);
}

TEST(RecordParser, DefaultsAndSpecialValues) {
  RecordParser p;
  ASSERT_EQ(p.parse(R"({"value":"NaN","name":"x"})"), RecordKind::sample);
  EXPECT_EQ(p.sample().type, MetricType::untyped);
  EXPECT_TRUE(std::isnan(p.sample().value));
  ASSERT_EQ(p.parse(R"({"name":"x","value":"+Inf"})"), RecordKind::sample);
  EXPECT_EQ(p.sample().value, INFINITY);
  ASSERT_EQ(p.parse(R"({"name":"x","value":"-Inf"})"), RecordKind::sample);
  EXPECT_EQ(p.sample().value, -INFINITY);
  ASSERT_EQ(p.parse(R"({"name":"x","value":18446744073709551615})"), RecordKind::sample);
  EXPECT_DOUBLE_EQ(p.sample().value, 18446744073709551615.0);
}

TEST(RecordParser, EndRecordsAndBlankLines) {
  RecordParser p;
  ASSERT_EQ(p.parse(R"({"end":"kv-domstats","ts":5})"), RecordKind::end);
  EXPECT_EQ(p.end().producer, "kv-domstats");
  EXPECT_EQ(p.end().timestamp_ms, 5);
  EXPECT_EQ(p.parse(""), RecordKind::blank);
  EXPECT_EQ(p.parse(" \r"), RecordKind::blank);
}

TEST(RecordParser, IgnoresUnknownKeys) {
  RecordParser p;
  ASSERT_EQ(p.parse(R"({"name":"x","value":1,"future":{"a":[1,2]}})"), RecordKind::sample);
}

TEST(RecordParser, ParsesAHistogramWithBucketsInAnyOrder) {
  RecordParser p;
  ASSERT_EQ(p.parse(R"({"name":"h_seconds","type":"histogram","labels":{"phase":"Running"},)"
                    R"("buckets":{"+Inf":4,"1.0":3,"0.5":1,"1e-05":0,"2E1":3.0},"sum":2.75,"value":4})"),
            RecordKind::sample)
      << p.reject().message;
  const SampleRecord& s = p.sample();
  EXPECT_EQ(s.type, MetricType::histogram);
  EXPECT_EQ(s.value, 4);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.sum, 2.75);
  ASSERT_EQ(s.buckets.size(), 4u);  // sorted by bound, +Inf not among them
  EXPECT_EQ(s.buckets[0].upper_bound, 1e-05);
  EXPECT_EQ(s.buckets[0].count, 0u);
  EXPECT_EQ(s.buckets[1].upper_bound, 0.5);
  EXPECT_EQ(s.buckets[2].upper_bound, 1);
  EXPECT_EQ(s.buckets[2].count, 3u);
  EXPECT_EQ(s.buckets[3].upper_bound, 20);
  EXPECT_EQ(s.buckets[3].count, 3u);

  // Only +Inf, special sums, no labels; and the next sample starts afresh.
  ASSERT_EQ(p.parse(R"({"name":"h","type":"histogram","buckets":{"+Inf":0},"sum":"NaN","value":0})"),
            RecordKind::sample);
  EXPECT_TRUE(p.sample().buckets.empty());
  EXPECT_TRUE(std::isnan(p.sample().sum));
  ASSERT_EQ(p.parse(R"({"name":"h","type":"histogram","buckets":{"-1":0,"+Inf":2},"sum":"-Inf","value":2})"),
            RecordKind::sample);
  EXPECT_EQ(p.sample().sum, -INFINITY);
  EXPECT_EQ(p.sample().buckets[0].upper_bound, -1);
  ASSERT_EQ(p.parse(R"({"name":"g","type":"gauge","value":1})"), RecordKind::sample);
  EXPECT_TRUE(p.sample().buckets.empty());
  EXPECT_EQ(p.sample().sum, 0);
  // A label named le is only reserved in histograms.
  ASSERT_EQ(p.parse(R"({"name":"g","labels":{"le":"1"},"value":1})"), RecordKind::sample);
}

struct BadLine {
  const char* line;
  RejectReason reason;
  const char* message;
};

class RecordParserRejects : public ::testing::TestWithParam<BadLine> {};

TEST_P(RecordParserRejects, WithReasonAndMessage) {
  RecordParser p;
  ASSERT_EQ(p.parse(GetParam().line), RecordKind::rejected) << GetParam().line;
  EXPECT_EQ(p.reject().reason, GetParam().reason) << to_string(p.reject().reason);
  EXPECT_EQ(p.reject().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Corpus, RecordParserRejects,
    ::testing::Values(
        BadLine{R"({"name":"x","value":1)", RejectReason::invalid_json,
                "invalid JSON: The JSON document has an improper structure: missing or superfluous "
                "commas, braces, missing keys, etc."},
        BadLine{"[1,2]", RejectReason::not_an_object,
                "a record must be a JSON object with \"name\" (a sample) or \"end\" (a snapshot "
                "end)"},
        BadLine{R"({"value":1})", RejectReason::not_a_record,
                "a record needs \"name\" (a sample) or \"end\" (a snapshot end)"},
        BadLine{R"({"name":"x","end":"y","value":1})", RejectReason::not_a_record,
                "a record has either \"name\" (a sample) or \"end\" (a snapshot end), not both"},
        BadLine{R"({"name":"9x","value":1})", RejectReason::invalid_name,
                "metric name \"9x\" is invalid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*"},
        BadLine{R"({"name":7,"value":1})", RejectReason::invalid_name,
                "\"name\" must be a string; got a number"},
        BadLine{R"({"name":"x"})", RejectReason::invalid_value, "sample \"x\" has no \"value\""},
        BadLine{R"({"name":"x","value":"1"})", RejectReason::invalid_value,
                "\"value\" must be a JSON number or one of the strings \"NaN\", \"+Inf\", "
                "\"-Inf\"; got \"1\""},
        BadLine{R"({"name":"x","value":true})", RejectReason::invalid_value,
                "\"value\" must be a JSON number or one of the strings \"NaN\", \"+Inf\", "
                "\"-Inf\"; got a boolean"},
        BadLine{R"({"name":"x_total","type":"counter","value":"NaN"})", RejectReason::invalid_value,
                "counter \"x_total\" must not be NaN"},
        BadLine{R"({"name":"x","type":"summary","value":1})", RejectReason::invalid_type,
                "\"type\" must be \"counter\", \"gauge\", \"histogram\" or \"untyped\"; got "
                "\"summary\""},
        // Histograms.
        BadLine{R"({"name":"h","type":"histogram","sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has no \"buckets\": give each upper bound's cumulative count, "
                "\"+Inf\" included, like \"buckets\":{\"0.5\":1,\"+Inf\":3}"},
        BadLine{R"({"name":"h","type":"histogram","buckets":[[0.5,1]],"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "\"buckets\" must be an object of upper bounds and cumulative counts, like "
                "{\"0.5\":1,\"+Inf\":3}; got an array"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":1},"value":1})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has no \"sum\": give the sum of the observations"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":1},"sum":"1","value":1})",
                RejectReason::invalid_histogram,
                "\"sum\" must be a JSON number or one of the strings \"NaN\", \"+Inf\", \"-Inf\"; "
                "got \"1\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"abc":0,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket bound \"abc\" is not an upper bound: write a finite decimal number "
                "(\"0.5\", \"1e-05\") or \"+Inf\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"NaN":0,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket bound \"NaN\" is not an upper bound: write a finite decimal number "
                "(\"0.5\", \"1e-05\") or \"+Inf\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"-Inf":0,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket bound \"-Inf\" is not an upper bound: write a finite decimal number "
                "(\"0.5\", \"1e-05\") or \"+Inf\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket bound \"inf\" is not an upper bound: write a finite decimal number "
                "(\"0.5\", \"1e-05\") or \"+Inf\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"1e999":0,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket bound \"1e999\" is not an upper bound: write a finite decimal number "
                "(\"0.5\", \"1e-05\") or \"+Inf\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":-1,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket \"0.5\" has count -1: a bucket counts observations, so it must be a whole "
                "number >= 0"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":1.5,"+Inf":2},"sum":1,"value":2})",
                RejectReason::invalid_histogram,
                "bucket \"0.5\" has count 1.5: a bucket counts observations, so it must be a whole "
                "number >= 0"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":"NaN"},"sum":1,"value":"NaN"})",
                RejectReason::invalid_histogram,
                "bucket \"+Inf\" has count \"NaN\": a bucket counts observations, so it must be a "
                "whole number >= 0"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":null},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "bucket \"+Inf\" has count null: a bucket counts observations, so it must be a "
                "whole number >= 0"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"1":1,"1.0":1,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has the bucket bound \"1.0\" twice (also as \"1\"): each upper "
                "bound has one bucket"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":1,"+Inf":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has the bucket bound \"+Inf\" twice: each upper bound has one "
                "bucket"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":1},"sum":1,"value":1})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has no \"+Inf\" bucket: it counts every observation, and equals "
                "\"value\""},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":3,"1":2,"+Inf":3},"sum":1,"value":3})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has bucket counts that go down: \"1\" has 2 but \"0.5\" has 3; "
                "counts are cumulative (each counts the observations <= its bound), so they never "
                "decrease as bounds grow"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":3,"+Inf":2},"sum":1,"value":2})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has bucket counts that go down: \"+Inf\" has 2 but \"0.5\" has 3; "
                "counts are cumulative (each counts the observations <= its bound), so they never "
                "decrease as bounds grow"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"0.5":1,"+Inf":4},"sum":1,"value":5})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has \"value\" 5 but its \"+Inf\" bucket counts 4: a histogram's "
                "value is its count of observations, the +Inf bucket's"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":4},"sum":1,"value":"NaN"})",
                RejectReason::invalid_histogram,
                "histogram \"h\" has \"value\" NaN but its \"+Inf\" bucket counts 4: a histogram's "
                "value is its count of observations, the +Inf bucket's"},
        BadLine{R"({"name":"h","type":"histogram","buckets":{"+Inf":4},"sum":1})",
                RejectReason::invalid_value, "sample \"h\" has no \"value\""},
        BadLine{R"({"name":"h","type":"histogram","labels":{"a":"1","le":"0.5"},"buckets":{"+Inf":1},"sum":1,"value":1})",
                RejectReason::reserved_label_name,
                "histogram \"h\" has a label \"le\", which is reserved: each bucket series gets le, "
                "its upper bound"},
        BadLine{R"({"name":"g","type":"gauge","buckets":{"+Inf":1},"value":1})",
                RejectReason::invalid_histogram,
                "sample \"g\" has \"buckets\" but its type is gauge: add \"type\":\"histogram\", or "
                "leave \"buckets\" and \"sum\" out"},
        BadLine{R"({"name":"u","sum":1,"value":1})", RejectReason::invalid_histogram,
                "sample \"u\" has \"sum\" but its type is untyped: add \"type\":\"histogram\", or "
                "leave \"buckets\" and \"sum\" out"},
        BadLine{R"({"name":"x","labels":["a"],"value":1})", RejectReason::invalid_labels,
                "\"labels\" must be an object of string values; got an array"},
        BadLine{R"({"name":"x","labels":{"a":1},"value":1})", RejectReason::invalid_labels,
                "label \"a\" must have a string value; got a number"},
        BadLine{R"({"name":"x","labels":{"a-b":"1"},"value":1})",
                RejectReason::invalid_label_name,
                "label name \"a-b\" is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*"},
        BadLine{R"({"name":"x","labels":{"__name__":"y"},"value":1})",
                RejectReason::reserved_label_name,
                "label name \"__name__\" is reserved: names starting with \"__\" belong to "
                "Prometheus"},
        BadLine{R"({"name":"x","labels":{"a":"1","a":"2"},"value":1})",
                RejectReason::duplicate_label, "label \"a\" appears twice"},
        BadLine{R"({"name":"x","help":3,"value":1})", RejectReason::invalid_help,
                "\"help\" must be a string; got a number"},
        BadLine{R"({"name":"x","unit":"a b","value":1})", RejectReason::invalid_unit,
                "\"unit\" \"a b\" is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]*"},
        BadLine{R"({"name":"x","value":1,"ts":1.5})", RejectReason::invalid_timestamp,
                "\"ts\" must be an integer number of milliseconds since the epoch"},
        BadLine{R"({"end":3})", RejectReason::invalid_end,
                "\"end\" must be a string naming the producer; got a number"},
        BadLine{"{\"name\":\"x\",\"labels\":{\"a\":\"\xff\"},\"value\":1}",
                RejectReason::invalid_utf8, "line is not valid UTF-8"}));

TEST(QuoteForMessage, EscapesAndCuts) {
  EXPECT_EQ(quote_for_message("a\"b\n"), "\"a\\\"b\\x0a\"");
  EXPECT_EQ(quote_for_message(std::string(70, 'x'), 4), "\"xxxx\"...");
}

}  // namespace
}  // namespace kv
