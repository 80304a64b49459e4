#include "metric_catalog.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace kv {

namespace {

constexpr MetricInfo kCatalog[] = {
#define KV_METRIC(name_, type_, unit_, source_, labels_, help_) \
  MetricInfo{#name_, CatalogType::type_, unit_, MetricSource::source_, labels_, help_},
#include "metric_catalog.def"
#undef KV_METRIC
};
constexpr std::size_t kCount = std::size(kCatalog);
static_assert(kCount <= UINT16_MAX, "MetricId and the name index hold row numbers in 16 bits");

// Row indices ordered by name, computed by the compiler for find_metric.
// (Two rows with one name do not compile: MetricId would repeat an enumerator.)
constexpr auto kByName = [] {
  std::array<std::uint16_t, kCount> order{};
  for (std::size_t i = 0; i < kCount; ++i) order[i] = static_cast<std::uint16_t>(i);
  std::sort(order.begin(), order.end(),
            [](std::uint16_t a, std::uint16_t b) { return kCatalog[a].name < kCatalog[b].name; });
  return order;
}();

}  // namespace

std::span<const MetricInfo> metric_catalog() { return kCatalog; }

const MetricInfo& metric_info(MetricId id) { return kCatalog[static_cast<std::size_t>(id)]; }

const MetricInfo* find_metric(std::string_view name) {
  auto before = [](std::uint16_t row, std::string_view n) { return kCatalog[row].name < n; };
  auto it = std::lower_bound(kByName.begin(), kByName.end(), name, before);
  if (it == kByName.end() || kCatalog[*it].name != name) return nullptr;
  return &kCatalog[*it];
}

std::string_view to_string(MetricSource source) {
  switch (source) {
    case MetricSource::libvirt_domstats: return "libvirt-domstats";
    case MetricSource::k8s_api: return "k8s-api";
    case MetricSource::internal: return "internal";
    case MetricSource::self: return "self";
  }
  return "unknown";
}

std::string_view to_string(CatalogType type) {
  switch (type) {
    case CatalogType::counter: return "counter";
    case CatalogType::gauge: return "gauge";
    case CatalogType::histogram: return "histogram";
  }
  return "unknown";
}

MetricType sample_type(CatalogType type) {
  switch (type) {
    case CatalogType::counter: return MetricType::counter;
    case CatalogType::gauge: return MetricType::gauge;
    case CatalogType::histogram: return MetricType::histogram;
  }
  return MetricType::untyped;
}

}  // namespace kv
