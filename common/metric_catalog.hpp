// The metric catalog: every metric the toolkit knows, with its type, unit,
// source, labels and help, defined once as rows of metric_catalog.def.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "metric_model.hpp"

namespace kv {

// Where a metric's value comes from.
enum class MetricSource : std::uint8_t {
  libvirt_domstats,  // libvirt on the node: domain stats, guest agent, jobs, host capabilities
  k8s_api,           // objects read from the Kubernetes API
  internal,          // a KubeVirt component's own state (readiness, queues, clients)
  self,              // this toolkit's own health
};

// A catalog row's type: the sample stream's types (MetricType) but
// untyped, which every metric of the catalog has a type better than.
enum class CatalogType : std::uint8_t { counter, gauge, histogram };

struct MetricInfo {
  std::string_view name;
  CatalogType type;
  std::string_view unit;    // "seconds", "bytes", ...; empty when none
  MetricSource source;
  std::string_view labels;  // comma-separated; "prefix_*" is a family of labels
  std::string_view help;
};

// One enumerator per catalog row, named like the metric, in row order, so a
// producer names a metric it emits with a compile-time check.
enum class MetricId : std::uint16_t {
#define KV_METRIC(name, ...) name,
#include "metric_catalog.def"
#undef KV_METRIC
};

// Every row, in metric_catalog.def order.
std::span<const MetricInfo> metric_catalog();
const MetricInfo& metric_info(MetricId id);
// nullptr when no row has this name.
const MetricInfo* find_metric(std::string_view name);

// The words of ../shared/reference/kubevirt-metrics.tsv: "libvirt-domstats",
// "k8s-api", "internal"; and "self".
std::string_view to_string(MetricSource source);
std::string_view to_string(CatalogType type);
// The sample stream type of a row.
MetricType sample_type(CatalogType type);

// Gives a sample (SampleOut, SampleRecord) the name, type, help and unit of
// a catalog row. (A histogram's buckets and sum are the producer's to give.)
template <typename Sample>
void describe_sample(Sample& s, const MetricInfo& info) {
  s.name = info.name;
  s.type = sample_type(info.type);
  s.help = info.help;
  s.unit = info.unit;
}

// A sample of a catalog row with these labels and this value, for the
// tools' self-metrics.
template <typename Sample, typename Labels>
Sample catalog_sample(MetricId id, Labels labels, double value) {
  Sample s;
  describe_sample(s, metric_info(id));
  s.labels = std::move(labels);
  s.value = value;
  return s;
}

}  // namespace kv
