// kv-watch's per-object extensions (object_lists.hpp): reduce, otherwise,
// sampleType, forEach.when and forEach.join. The series they make, the
// fields they keep in the cache, and the errors of configs that misuse them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "kv-watch/object_lists.hpp"
#include "crs_test_support.hpp"

namespace kv::watch::crs {
namespace {

using support::text_of;

// The series of the config's first metric for `object`, one per line.
std::string series_of(const std::string& metrics, const std::string& object, std::size_t* errors = nullptr) {
  std::vector<std::string> messages;
  std::string text = support::series_of(metrics, object, &messages);
  if (errors) *errors = messages.size();
  return text;
}

std::string config_error(const std::string& metrics) {
  return support::config_error_of(support::pod_config_with(metrics));
}

std::vector<Series> some_series() {
  return {{{{"c", "a"}, {"ready", "true"}}, 3},
          {{{"c", "b"}, {"ready", "false"}}, 5},
          {{{"c", "c"}, {"ready", "true"}}, -2}};
}

TEST(ObjectReduce, CombinesTheSeriesOfOneObjectFromFirstOn) {
  auto reduced = [](Reduction::Op op, std::vector<std::string> by = {}) {
    std::vector<Series> out = {{{{"other", "object"}}, 100}};
    for (auto& s : some_series()) out.push_back(s);
    reduce_object_series({op, by, std::nullopt}, out, 1);
    return text_of(out);
  };
  EXPECT_EQ(reduced(Reduction::Op::max), "other=object 100\n5\n");
  EXPECT_EQ(reduced(Reduction::Op::min), "other=object 100\n-2\n");
  EXPECT_EQ(reduced(Reduction::Op::sum), "other=object 100\n6\n");
  EXPECT_EQ(reduced(Reduction::Op::count), "other=object 100\n3\n");
  EXPECT_EQ(reduced(Reduction::Op::max, {"ready"}), "other=object 100\nready=false 5\nready=true 3\n");
  EXPECT_EQ(reduced(Reduction::Op::count, {"ready", "missing"}), "other=object 100\nready=false 1\nready=true 2\n");
}

TEST(ObjectReduce, AnObjectWithoutSeriesGetsTheDefault) {
  auto reduced = [](Reduction r) {
    std::vector<Series> out;
    reduce_object_series(r, out, 0);
    return text_of(out);
  };
  EXPECT_EQ(reduced({Reduction::Op::max, {}, -1.0}), "-1\n");
  EXPECT_EQ(reduced({Reduction::Op::max, {}, std::nullopt}), "");
  EXPECT_EQ(reduced({Reduction::Op::min, {}, std::nullopt}), "");
  EXPECT_EQ(reduced({Reduction::Op::count, {}, std::nullopt}), "0\n");
  EXPECT_EQ(reduced({Reduction::Op::sum, {}, std::nullopt}), "0\n");
  EXPECT_EQ(reduced({Reduction::Op::sum, {}, 7.0}), "7\n");
  EXPECT_EQ(reduced({Reduction::Op::count, {"ready"}, std::nullopt}), "");
}

TEST(ListJoin, FindsTheFirstElementWithTheSameKeyAsALabelShowsIt) {
  simdjson::dom::parser parser;
  auto object = parser.parse(std::string(R"({"a":[{"n":"x"},{"n":1,"v":"one"}],
    "b":[null,{"id":"y"},{"id":1,"v":"first"},{"id":"1","v":"second"},{"id":"x","v":"ex"}]})")).value();
  ListJoin join;
  join.path = ValuePath::compile({"b"});
  join.key = ValuePath::compile({"id"});
  join.on = ValuePath::compile({"n"});
  auto partner_of = [&](std::size_t i) {
    auto p = joined_element(join, object, object["a"].at(i).value());
    return p ? go_format_value((*p)["v"].value()) : std::string("none");
  };
  EXPECT_EQ(partner_of(0), "ex");
  EXPECT_EQ(partner_of(1), "first");  // 1 and "1" look the same as labels; the first wins
  join.on = ValuePath::compile({"missing"});
  EXPECT_EQ(partner_of(0), "none");
  join.on = ValuePath::compile({"n"});
  join.path = ValuePath::compile({"a", "0"});  // not a list
  EXPECT_EQ(partner_of(0), "none");
}

const char* vmi = R"({"metadata":{"name":"v1"},
  "spec":{"domain":{"devices":{"interfaces":[
      {"name":"default","masquerade":{}},
      {"name":"vlan","bridge":{},"model":"virtio"},
      {"name":"orphan","bridge":{}},
      {"name":"nosource","bridge":{}}]}},
    "networks":[{"name":"default","pod":{}},{"name":"vlan","multus":{"networkName":"ns/vlan","default":false}},
                {"name":"nosource"}]},
  "status":{"phase":"Running","conditions":[
    {"type":"Ready","lastTransitionTime":"2025-11-20T10:00:00Z"},
    {"type":"Paused","lastTransitionTime":"2025-11-20T10:30:00Z"},
    {"type":"Other","lastTransitionTime":"2025-11-20T11:00:00Z"},
    {"type":"Failure","lastTransitionTime":null}]}})";

TEST(ListJoin, ForEachElementsWithTheirPartnersLabels) {
  const char* metric =
      "    - name: vnic\n"
      "      forEach:\n"
      "        path: [spec, domain, devices, interfaces]\n"
      "        labelsFromPath: {model: [model]}\n"
      "        join:\n"
      "          path: [spec, networks]\n"
      "          key: [name]\n"
      "          when: [{path: [pod], exists: false}]\n"
      "          labelsFromPath: {network: [multus, networkName], model: [multus, default]}\n"
      "      each: {type: Info, info: {labelsFromPath: {vnic: [name]}}}\n";
  // No partner (orphan), a partner that does not meet when (default): no
  // series; the element's labels win over the partner's (model).
  EXPECT_EQ(series_of(metric, vmi),
            "model=virtio network=ns/vlan pod=v1 vnic=vlan 1\n"
            "pod=v1 vnic=nosource 1\n");
  // optional: every element makes its series; those without a partner
  // that meets when, without the partner's labels.
  std::string optional = metric;
  optional.replace(optional.find("          labelsFromPath: {network"), 0, "          optional: true\n");
  EXPECT_EQ(series_of(optional, vmi),
            "pod=v1 vnic=default 1\n"
            "model=virtio network=ns/vlan pod=v1 vnic=vlan 1\n"
            "pod=v1 vnic=orphan 1\n"
            "pod=v1 vnic=nosource 1\n");
}

TEST(ObjectReduce, TheLatestOfSomeConditionsOtherwiseZero) {
  std::string metric =
      "    - name: last\n"
      "      forEach:\n"
      "        path: [status, conditions]\n"
      "        when: [{path: [type], in: [Ready, Paused, Failure]}, {path: [lastTransitionTime], exists: true}]\n"
      "      each: {type: Gauge, gauge: {path: [lastTransitionTime]}}\n"
      "      reduce: {op: max, default: -1}\n"
      "      sampleType: counter\n";
  std::size_t errors = 0;
  EXPECT_EQ(series_of(metric, vmi, &errors), "pod=v1 1.7636346e+09\n");
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"v2"}})"), "pod=v2 -1\n");
  std::string running = metric + "      when: [{path: [status, phase], in: [Running]}]\n      otherwise: 0\n";
  EXPECT_EQ(series_of(running, vmi), "pod=v1 1.7636346e+09\n");
  EXPECT_EQ(series_of(running, R"({"metadata":{"name":"v2"}})"), "pod=v2 0\n");
  auto config = parse_metrics_config(support::pod_config_with(metric), "test.yaml");
  EXPECT_EQ(config.resources.at(0).metrics.at(0).sample_type, SampleType::counter);
}

TEST(ListJoin, FieldsReadIncludeBothListsAndTheConditions) {
  auto config = parse_metrics_config(
      support::pod_config_with("    - name: vnic\n"
                  "      forEach:\n"
                  "        path: [spec, interfaces]\n"
                  "        when: [{path: [type], in: [a]}]\n"
                  "        join:\n"
                  "          path: [spec, networks]\n"
                  "          key: [id]\n"
                  "          on: [network]\n"
                  "          when: [{path: [pod], exists: true}]\n"
                  "          labelsFromPath: {network: [multus, networkName]}\n"
                  "      each: {type: Info, info: {labelsFromPath: {vnic: [name]}}}\n"),
      "test.yaml");
  EXPECT_EQ(fields_read(config.resources.at(0)),
            // (the Info reads the whole element, so it is kept whole)
            (std::vector<std::string>{"metadata.name", "spec.interfaces", "spec.interfaces.network",
                                      "spec.interfaces.type", "spec.networks.id", "spec.networks.multus.networkName",
                                      "spec.networks.pod"}));
}

TEST(ObjectReduce, ConfigErrorsNameTheFileTheEntryAndTheProblem) {
  const std::string each = "      each: {type: Info, info: {labelsFromPath: {n: [metadata, name]}}}\n";
  EXPECT_EQ(config_error("    - name: x\n      reduce: max\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": reduce must be a mapping with an op, like {op: max}");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {op: median}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": reduce.op must be count, sum, max or min, not \"median\"");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {by: [a]}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": reduce.op must be count, sum, max or min, not \"\"");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {op: max, default: none}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" reduce.default must be a number, not \"none\"");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {op: max, default: \"-1\"}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" reduce.default must be a number, not the string \"-1\" "
            "(quoted)");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {op: max, by: [a], default: -1}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": reduce.default cannot be used with reduce.by (an object "
            "without series has no labels to group by)");
  EXPECT_EQ(config_error("    - name: x\n      otherwise: 0\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": otherwise needs when (it is the value of the objects that "
            "do not meet it)");
  EXPECT_EQ(config_error("    - name: x\n      when: [{path: [a], exists: true}]\n      otherwise: [0]\n" + each),
            "test.yaml:10: resource 1 (Pod) metric \"x\" otherwise must be a number, not a list");
  EXPECT_EQ(config_error("    - name: x\n      sampleType: histogram\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\": sampleType must be gauge or counter, not \"histogram\"");
  EXPECT_EQ(config_error("    - name: x\n      reduce: {op: max}\n"
                         "      each: {type: Transition, transition: {path: [a], from: previous, labelName: p, buckets: [1],\n"
                         "             timestamps: {path: [t], key: [k], time: [v]}}}\n"),
            "test.yaml:9: resource 1 (Pod) metric \"x\": reduce cannot be used with type Transition");
}

TEST(ListJoin, ConfigErrorsNameTheFileTheEntryAndTheProblem) {
  const std::string each = "      each: {type: Info, info: {labelsFromPath: {n: [name]}}}\n";
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], join: [spec, b]}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach.join must be a mapping of path, key and on, like "
            "{path: [spec, networks], key: [name], on: [name]}");
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], join: {key: [name]}}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach.join: path is missing (the list to join with, from "
            "the object, like [spec, networks])");
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], join: {path: [spec, b]}}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach.join: key is missing (the value of its elements to "
            "match, like [name])");
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], join: {path: [spec, b], key: [\"[a]\"]}}\n" +
                         each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach.join.key: invalid list lookup: [a] (a list filter is "
            "[key=value])");
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], when: {path: [a]}}\n" + each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach: when must be a list of conditions");
  EXPECT_EQ(config_error("    - name: x\n      forEach: {path: [spec, a], join: {path: [b], key: [k], when: [{path: [a]}]}}\n" +
                         each),
            "test.yaml:9: resource 1 (Pod) metric \"x\" forEach.join: a when condition needs one of in, notIn, exists");
}

}  // namespace
}  // namespace kv::watch::crs
