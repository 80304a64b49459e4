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
        BadLine{R"({"name":"x_total","type":"counter","value":-1})", RejectReason::invalid_value,
                "counter \"x_total\" must have a value >= 0 (counters only go up from zero)"},
        BadLine{R"({"name":"x","type":"histogram","value":1})", RejectReason::invalid_type,
                "\"type\" must be \"counter\", \"gauge\" or \"untyped\"; got \"histogram\""},
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
