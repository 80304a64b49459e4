// The value rules of kube-state-metrics' Custom Resource State configs, with
// the results kube-state-metrics v2.20 gives for the same inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "kv-watch/crs_value.hpp"

namespace kv::watch::crs {
namespace {

TEST(CrsValue, GoFloatFormatting) {
  const std::pair<double, const char*> cases[] = {
      {100000, "100000"},         {999999.5, "999999.5"},   {1e6, "1e+06"},
      {12345678, "1.2345678e+07"}, {1656374400, "1.6563744e+09"}, {1e20, "1e+20"},
      {1e100, "1e+100"},          {0.0001, "0.0001"},       {0.00012, "0.00012"},
      {1.234e-5, "1.234e-05"},    {-2.5e-7, "-2.5e-07"},    {5e-324, "5e-324"},
      {43.21, "43.21"},           {1, "1"},                 {-1, "-1"},
      {1.7976931348623157e308, "1.7976931348623157e+308"}};
  for (const auto& [v, want] : cases) EXPECT_EQ(go_format_float(v), want) << v;
}

TEST(CrsValue, QuantitiesAsApimachineryApproximatesThem) {
  EXPECT_EQ(*parse_quantity("0.3"), 0.30000000000000004);
  EXPECT_EQ(*parse_quantity("0.7"), 0.7000000000000001);
  EXPECT_EQ(*parse_quantity("250m"), 0.25);
  EXPECT_EQ(*parse_quantity("5Gi"), 5368709120.0);
  EXPECT_EQ(*parse_quantity("1.5Gi"), 1610612736.0);
  EXPECT_EQ(*parse_quantity("1.5e3"), 1500.0);
  EXPECT_EQ(*parse_quantity("5e-3"), 0.005);
  EXPECT_EQ(*parse_quantity("1E"), 1e18);
  EXPECT_EQ(*parse_quantity("3.14159265358979"), 3.141592654);
  EXPECT_EQ(*parse_quantity("1e-10"), 1e-09);
  EXPECT_EQ(*parse_quantity("m"), 0.0);
  EXPECT_EQ(*parse_quantity("-"), 0.0);
  EXPECT_EQ(*parse_quantity("123456789012345678901"), 1.2345678901234568e+20);
  EXPECT_FALSE(parse_quantity(""));
  EXPECT_FALSE(parse_quantity("2e"));
  EXPECT_FALSE(parse_quantity("12.5%"));
}

TEST(CrsValue, GaugeStringConversion) {
  EXPECT_EQ(*string_to_float64("True"), 1);
  EXPECT_EQ(*string_to_float64("YES"), 1);
  EXPECT_EQ(*string_to_float64("unknown"), 0);
  EXPECT_FALSE(string_to_float64("on"));
  EXPECT_EQ(*string_to_float64("2022-06-28T00:00:00.9+02:00"), 1656367200);
  EXPECT_FALSE(string_to_float64("2022-06-28t00:00:00z"));
  EXPECT_EQ(*string_to_float64("28%"), 0.28);
  EXPECT_FALSE(string_to_float64("-5%"));
  EXPECT_TRUE(std::isnan(*string_to_float64("NaN")));
  EXPECT_EQ(*string_to_float64("-infinity"), -HUGE_VAL);
  EXPECT_EQ(*string_to_float64("0x1p-2"), 0.25);
  EXPECT_EQ(*string_to_float64("1_000"), 1000);
  EXPECT_FALSE(string_to_float64(" 1"));
  EXPECT_FALSE(string_to_float64("0x10"));
}

TEST(CrsValue, PathsWithFiltersIndexesAndMapFilters) {
  simdjson::dom::parser p;
  auto doc = p.parse(std::string(
      R"({"metadata":{"name":"foo"},"spec":{"order":[{"id":1,"value":true},{"id":3,"value":false}],)"
      R"("refs":["a","b","c"]},"status":{"conditions":[{"type":"Ready","status":"True"}]}})")).value();
  auto str = [&](std::vector<std::string> path) {
    auto v = ValuePath::compile(path).get(doc);
    return v ? go_format_value(*v) : std::string("<absent>");
  };
  EXPECT_EQ(str({"status", "conditions", "[status=yes]", "type"}), "Ready");
  EXPECT_EQ(str({"spec", "order", "[value=false]", "id"}), "3");
  EXPECT_EQ(str({"spec", "order", "[id=1000m]", "value"}), "true");
  EXPECT_EQ(str({"metadata", "name=foo"}), "foo");
  EXPECT_EQ(str({"metadata", "name=bar"}), "<absent>");
  EXPECT_EQ(str({"spec", "refs", "-1"}), "c");
  EXPECT_EQ(str({"spec", "refs", "+1"}), "b");
  EXPECT_EQ(str({"spec", "refs", "5"}), "<absent>");
  EXPECT_EQ(str({"spec", "refs"}), "[a b c]");
  EXPECT_EQ(str({"spec", "order", "0"}), "map[id:1 value:true]");
  EXPECT_THROW(ValuePath::compile({"[type]"}), std::invalid_argument);
}

TEST(CrsValue, LabelNamesAreSanitised) {
  EXPECT_EQ(sanitize_label_name("app.kubernetes.io/name"), "app_kubernetes_io_name");
  EXPECT_EQ(sanitize_label_name("*"), "_");
  EXPECT_EQ(sanitize_label_name("caf\xc3\xa9"), "caf_");
}

}  // namespace
}  // namespace kv::watch::crs
