#include <gtest/gtest.h>

#include "kv-watch/wildcards.hpp"

namespace kv::watch {
namespace {

constexpr const char* kConfig = R"(
spec:
  resources:
  - groupVersionKind: {group: a.io, version: "*", kind: "*"}
    metrics:
    - name: info
      commonLabels: {customresource_kind: mine}
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
    - name: other
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
  - groupVersionKind: {group: a.io, version: "*", kind: Widget}
    customResourceLabels: false
    metrics:
    - name: widget
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
  - groupVersionKind: {group: b.io, version: v1, kind: Plain}
    metrics:
    - name: plain
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
  - groupVersionKind: {group: c.io, version: v2, kind: "*"}
    metrics:
    - name: none
      each: {type: Info, info: {labelsFromPath: {name: [metadata, name]}}}
)";

TEST(Wildcards, EachEntryBecomesOnePerMatchingServedResource) {
  auto config = crs::parse_metrics_config(kConfig, "c.yaml");
  ASSERT_TRUE(has_wildcard(config));
  std::map<std::string, int> asked;
  auto served = [&](const std::string& group) {
    ++asked[group];
    if (group == "a.io")
      return std::vector<ResourceType>{{"a.io", "v1", "widgets", "Widget", true},
                                       {"a.io", "v2", "widgets", "Widget", true},
                                       {"a.io", "v1", "gadgets", "Gadget", false}};
    return std::vector<ResourceType>{{group, "v1", "things", "Thing", true}};
  };
  auto warnings = expand_wildcards(config, served);
  EXPECT_EQ(asked, (std::map<std::string, int>{{"a.io", 1}, {"c.io", 1}}));  // b.io names its kind
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("no served resource of group \"c.io\" matches version \"v2\" and kind \"*\""),
            std::string::npos)
      << warnings[0];
  EXPECT_FALSE(has_wildcard(config));

  std::vector<std::string> got;
  for (const auto& r : config.resources) got.push_back(r.group + "/" + r.version + "/" + r.plural + " " + r.kind);
  EXPECT_EQ(got, (std::vector<std::string>{"a.io/v1/widgets Widget", "a.io/v2/widgets Widget",
                                           "a.io/v1/gadgets Gadget", "a.io/v1/widgets Widget",
                                           "a.io/v2/widgets Widget", "b.io/v1/ Plain"}));
  // The labels name the real version and kind, unless a metric set its own.
  const auto& gadget = config.resources[2];
  EXPECT_EQ(gadget.metrics[0].common_labels.at("customresource_kind"), "mine");
  EXPECT_EQ(gadget.metrics[0].common_labels.at("customresource_version"), "v1");
  EXPECT_EQ(gadget.metrics[1].common_labels.at("customresource_kind"), "Gadget");
  EXPECT_EQ(gadget.metrics[1].common_labels.at("customresource_group"), "a.io");
  EXPECT_NE(gadget.where.find("as a.io/v1 Gadget"), std::string::npos) << gadget.where;
  EXPECT_EQ(config.resources[3].metrics[0].common_labels.count("customresource_kind"), 0u);
}

TEST(Wildcards, ADiscoveryFailureReachesTheCaller) {
  auto config = crs::parse_metrics_config(kConfig, "c.yaml");
  EXPECT_THROW(expand_wildcards(config, [](const std::string&) -> std::vector<ResourceType> {
                 throw std::runtime_error("discovery /apis: 503");
               }),
               std::runtime_error);
}

TEST(Wildcards, ResourcePluralCannotGoWithEveryKind) {
  EXPECT_THROW(crs::parse_metrics_config(R"(
spec:
  resources:
  - groupVersionKind: {group: a.io, version: v1, kind: "*"}
    resourcePlural: widgets
)",
                                         "c.yaml"),
               crs::ConfigError);
}

}  // namespace
}  // namespace kv::watch
