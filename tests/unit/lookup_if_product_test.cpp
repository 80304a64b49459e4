// A lookup's `if` (conditions on the object choosing between lookups),
// ignoreCase, valueFromLabel as a product, and shared runs of labelValues
// rules: what kubevirt_vm_resource_requests is made of.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crs_test_support.hpp"
#include "lookup_test_support.hpp"
#include "kv-watch/config_metrics.hpp"
#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/object_lookup.hpp"

namespace kv::watch {
namespace {

using crs::support::config_error_of;
using crs::support::pod_config_with;
using crs::support::series_of;

// A VM's guest memory from the namespaced or the cluster-wide object its
// spec.kind names.
const char* config_text = R"(spec:
  resources:
  - groupVersionKind: {group: kubevirt.io, version: v1, kind: VirtualMachine}
    metricNamePrefix: ""
    customResourceLabels: false
    labelsFromPath: {name: [metadata, name]}
    metrics:
    - name: guest_bytes
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {name: []}}}
      lookup:
      - groupVersionKind: {group: instancetype.kubevirt.io, version: v1beta1, kind: VirtualMachineInstancetype}
        name: [spec, it, name]
        if: [{path: [spec, it, kind], in: [VirtualMachineInstancetype], ignoreCase: true}]
        labelsFromPath: {_guest: [spec, memory, guest]}
        optional: true
      - groupVersionKind: {group: instancetype.kubevirt.io, version: v1beta1, kind: VirtualMachineClusterInstancetype}
        name: [spec, it, name]
        if: [{path: [spec, it, kind], notIn: [VirtualMachineInstancetype], ignoreCase: true}]
        labelsFromPath: {_guest: [spec, memory, guest]}
        optional: true
      valueFromLabel: _guest
)";

struct Fixture : support::CachedConfig {
  Fixture()
      : CachedConfig(config_text, [](const std::string& kind) -> std::pair<std::string, bool> {
          if (kind == "VirtualMachine") return {"virtualmachines", true};
          if (kind == "VirtualMachineClusterInstancetype") return {"virtualmachineclusterinstancetypes", false};
          return {"virtualmachineinstancetypes", true};
        }) {
    add(1, R"({"metadata":{"name":"m","namespace":"ns1"},"spec":{"memory":{"guest":"1Gi"}}})");
    add(2, R"({"metadata":{"name":"m"},"spec":{"memory":{"guest":"2Gi"}}})");
  }

  std::string series(const std::string& vm) {
    LookupTables tables;
    tables.build(resources, caches);
    simdjson::dom::parser p;
    std::vector<crs::Series> out;
    std::vector<std::string> errors;
    crs::object_series(config.resources.at(0).metrics.at(0), p.parse(vm).value(), out, errors, &tables);
    return crs::support::text_of(out);
  }
};

TEST(LookupIf, AFieldOfTheObjectChoosesTheResourceAnyCase) {
  Fixture f;
  EXPECT_EQ(f.series(R"({"metadata":{"name":"a","namespace":"ns1"},"spec":{"it":{"name":"m"}}})"),
            "name=a 2.147483648e+09\n");
  EXPECT_EQ(f.series(R"({"metadata":{"name":"b","namespace":"ns1"},"spec":{"it":{"name":"m","kind":"virtualMACHINEinstancetype"}}})"),
            "name=b 1.073741824e+09\n");
  // Another namespace has no such namespaced object; the cluster-wide one
  // is not looked up instead.
  EXPECT_EQ(f.series(R"({"metadata":{"name":"c","namespace":"ns2"},"spec":{"it":{"name":"m","kind":"VirtualMachineInstancetype"}}})"),
            "");
}

TEST(LookupIf, TheObjectKeepsWhatIfReads) {
  Fixture f;
  auto fields = crs::fields_read(f.config.resources[0]);
  EXPECT_NE(std::find(fields.begin(), fields.end(), "spec.it.kind"), fields.end());
}

TEST(LookupIf, NeedsAName) {
  EXPECT_NE(config_error_of(pod_config_with(R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      lookup:
      - groupVersionKind: {group: kubevirt.io, version: v1, kind: KubeVirt}
        if: [{path: [spec, nodeName], exists: true}]
)"))
                .find("if without name"),
            std::string::npos);
}

const char* product_metric = R"(    - name: vcpus
      labelsFromPath: {_c: [c], _t: [t], _s: [s]}
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      valueFromLabel: [_c, _t, _s]
)";

TEST(ValueFromLabels, TheProductOfTheFactorsPresentAndNotZero) {
  EXPECT_EQ(series_of(product_metric, R"({"metadata":{"name":"p"},"c":2,"t":"2","s":3})"), "n=p pod=p 12\n");
  EXPECT_EQ(series_of(product_metric, R"({"metadata":{"name":"p"},"c":0,"s":4})"), "n=p pod=p 4\n");
  // No factor left: no series, and no error.
  std::vector<std::string> errors;
  EXPECT_EQ(series_of(product_metric, R"({"metadata":{"name":"p"},"c":0})", &errors), "");
  EXPECT_TRUE(errors.empty());
  // One that does not convert leaves the series out, as an error.
  EXPECT_EQ(series_of(product_metric, R"({"metadata":{"name":"p"},"c":2,"t":"two"})", &errors), "");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("valueFromLabel _t: strconv.ParseFloat: parsing \"two\""), std::string::npos) << errors[0];
}

TEST(ValueFromLabels, AreLabelNames) {
  EXPECT_NE(config_error_of(pod_config_with(R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      valueFromLabel: []
)"))
                .find("valueFromLabel is an empty list"),
            std::string::npos);
  EXPECT_NE(config_error_of(pod_config_with(R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      valueFromLabel: [a, b-c]
)"))
                .find("not \"b-c\""),
            std::string::npos);
}

TEST(LabelValues, AListInPlaceOfARuleIsItsRulesInOrder) {
  const char* metric = R"(    - name: phase
      each: {type: Info, info: {path: [status], labelsFromPath: {phase: [phase]}}}
      labelValues:
      - &shared
        - {label: phase, lowercase: true}
        - {label: group, from: phase, map: {running: up}, default: down}
      - {label: phase, ifPresent: ""}
)";
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p"},"status":{"phase":"Running"}})"), "group=up pod=p 1\n");
}

TEST(WhenIgnoreCase, ComparesWithoutCaseAndNotWithExists) {
  const char* metric = R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      when: [{path: [kind], in: [VirtualMachineInstancetype], ignoreCase: true}]
)";
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p"},"kind":"virtualmachineINSTANCETYPE"})"), "n=p pod=p 1\n");
  EXPECT_EQ(series_of(metric, R"({"metadata":{"name":"p"},"kind":"VirtualMachineClusterInstancetype"})"), "");
  EXPECT_NE(config_error_of(pod_config_with(R"(    - name: x
      each: {type: Info, info: {path: [metadata, name], labelsFromPath: {n: []}}}
      when: [{path: [kind], exists: true, ignoreCase: true}]
)"))
                .find("ignoreCase goes with in or notIn"),
            std::string::npos);
}

}  // namespace
}  // namespace kv::watch
