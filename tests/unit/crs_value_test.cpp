// The value rules of kube-state-metrics' Custom Resource State configs, with
// the results kube-state-metrics v2.20 gives for the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <tuple>

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

// apimachinery's Quantity.Value() and MilliValue(): ceil, away from zero.
TEST(CrsValue, QuantitiesScaledAsApimachineryRoundsThem) {
  const std::tuple<const char*, int, std::int64_t> cases[] = {
      {"15500m", 3, 15500}, {"15500m", 0, 16},        {"10m", 3, 10},        {"1500u", 3, 2},
      {"1.5", 0, 2},        {"100m", 0, 1},           {"0.5Gi", 0, 536870912}, {"1.1Ki", 0, 1127},
      {"64612468Ki", 0, 66163167232}, {"1k", 0, 1000}, {"1e3", 3, 1000000}, {"5e-3", 3, 5},
      {"1n", 3, 1},         {"0", 3, 0},              {"m", 0, 0},           {"-1.5", 0, -2},
      {"1Ei", 0, 1152921504606846976}, {"0.000000000000000000000000000000000000001", 0, 1}};
  for (const auto& [s, decimals, want] : cases) {
    auto got = quantity_scaled_ceil(s, decimals);
    ASSERT_TRUE(got) << s;
    EXPECT_EQ(*got, want) << s << " at " << decimals;
  }
  EXPECT_FALSE(quantity_scaled_ceil("8Ei", 0));   // beyond int64
  EXPECT_FALSE(quantity_scaled_ceil("10E", 3));   // beyond int64 in thousandths
  EXPECT_FALSE(quantity_scaled_ceil("12.5%", 0));
}

// kube-state-metrics divides the milli-value by 1000, where the Custom
// Resource State conversion multiplies by 0.001: 700m is 0.7 here.
TEST(CrsValue, ResourceQuantitiesAsKubeStateMetricsConvertsThem) {
  EXPECT_EQ(*resource_quantity("700m", false), 0.7);
  EXPECT_EQ(*resource_quantity("1900m", false), 1.9);
  EXPECT_EQ(*resource_quantity("1500u", false), 0.002);
  EXPECT_EQ(*resource_quantity("4390Mi", true), 4603248640.0);
  EXPECT_EQ(*resource_quantity("100m", true), 1.0);
  EXPECT_EQ(*resource_quantity("50M", true), 5e7);
  // Beyond MaxMilliValue the whole value, beyond int64 the approximation.
  EXPECT_EQ(*resource_quantity("10P", false), 1e16);
  EXPECT_EQ(*resource_quantity("10E", false), 1e19);
  EXPECT_FALSE(resource_quantity("lots", false));
}

TEST(CrsValue, ResourceUnitsAsKubeStateMetricsGivesThem) {
  auto unit = [](std::string_view name, bool node) {
    auto c = kube_resource_class(name, node);
    return c ? std::string(c->unit) + (c->whole ? " whole" : " milli") : std::string("-");
  };
  EXPECT_EQ(unit("cpu", false), "core milli");
  EXPECT_EQ(unit("memory", false), "byte whole");
  EXPECT_EQ(unit("ephemeral-storage", false), "byte whole");
  EXPECT_EQ(unit("storage", false), "byte whole");
  EXPECT_EQ(unit("hugepages-2Mi", false), "byte whole");
  EXPECT_EQ(unit("attachable-volumes-aws-ebs", false), "byte whole");
  EXPECT_EQ(unit("devices.kubevirt.io/kvm", false), "integer whole");
  EXPECT_EQ(unit("nvidia.com/gpu", false), "integer whole");
  EXPECT_EQ(unit("pods", false), "-");                 // not among a container's
  EXPECT_EQ(unit("pods", true), "integer milli");
  EXPECT_EQ(unit("memory", true), "byte milli");
  EXPECT_EQ(unit("example.kubernetes.io/x", false), "-");  // native, not extended
  EXPECT_EQ(unit("requests.example.com/x", false), "-");
  EXPECT_EQ(unit("Example.com/x", false), "-");         // not a DNS subdomain
  EXPECT_EQ(unit("example.com/x/y", false), "-");
  EXPECT_EQ(unit("example.com/-x", false), "-");
  EXPECT_EQ(unit("foo", false), "-");
}

// The names of kube-state-metrics' label_* labels, collisions included.
TEST(CrsValue, MapLabelNamesAsKubeStateMetricsNamesThem) {
  auto names = [](std::vector<std::string_view> keys) {
    std::string out;
    for (const auto& n : kube_map_label_names("label", keys)) out += (out.empty() ? "" : " ") + n;
    return out;
  };
  EXPECT_EQ(names({"cpu-model.node.kubevirt.io/Broadwell-noTSX", "kubevirt.io/schedulable"}),
            "label_cpu_model_node_kubevirt_io_broadwell_no_tsx label_kubevirt_io_schedulable");
  EXPECT_EQ(names({"ABc", "IvyBridge", "aBC", "x9Y"}), "label_abc label_ivy_bridge label_a_bc label_x9_y");
  // Sorted keys that end up with one name: _conflict1, _conflict2, ...
  EXPECT_EQ(names({"a.b", "a/b", "a_b"}), "label_a_b_conflict1 label_a_b_conflict2 label_a_b_conflict3");
  EXPECT_EQ(names({"aB", "a_b", "c"}), "label_a_b_conflict1 label_a_b_conflict2 label_c");
  // A suffixed name is never one another key already has.
  EXPECT_EQ(names({"a.b", "a/b", "a_b_conflict1"}),
            "label_a_b_conflict1_conflict1 label_a_b_conflict2 label_a_b_conflict1_conflict2");
  EXPECT_EQ(names({}), "");
}

}  // namespace
}  // namespace kv::watch::crs
