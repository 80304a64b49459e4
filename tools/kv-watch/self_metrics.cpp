#include "kv-watch/self_metrics.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "metric_catalog.hpp"

namespace kv::watch {
namespace {

// One resource's informers (one per namespace with --namespaces) summed:
// users ask about a resource, and a namespace label would clash with the
// namespace label Prometheus' Kubernetes discovery gives the target.
struct ResourceHealth {
  std::string resource;
  std::uint64_t lists = 0, relists = 0, list_failures = 0;
  std::array<std::uint64_t, kRestartReasons> restarts{};
  std::array<std::uint64_t, kWatchEventTypes.size()> events{};
  std::size_t objects = 0;
  bool synced = true;  // every namespace's first list completed
  // The oldest last contact: the age of the namespace silent longest.
  std::int64_t contact = std::numeric_limits<std::int64_t>::max();
};

}  // namespace

void emit_self_metrics(const std::vector<std::unique_ptr<Informer>>& informers, std::int64_t now,
                       std::int64_t started_ms, const SampleSink& sink) {
  std::vector<ResourceHealth> health;
  for (const auto& inf : informers) {
    std::string resource = inf->type().id();
    auto h = std::find_if(health.begin(), health.end(), [&](const auto& x) { return x.resource == resource; });
    if (h == health.end()) {
      health.push_back({});
      h = health.end() - 1;
      h->resource = std::move(resource);
    }
    const auto& st = inf->stats();
    h->lists += st.lists.load();
    h->relists += st.relists.load();
    h->list_failures += st.list_failures.load();
    for (std::size_t i = 0; i < kRestartReasons; ++i) h->restarts[i] += st.restarts[i].load();
    for (std::size_t i = 0; i < kWatchEventTypes.size(); ++i) h->events[i] += st.events[i].load();
    {
      std::lock_guard lock(inf->cache().mutex());
      h->objects += inf->cache().size();
    }
    h->synced = h->synced && st.synced.load();
    std::int64_t contact = st.last_contact_ms.load();
    if (contact == 0) contact = started_ms;
    h->contact = std::min(h->contact, contact);
  }
  auto emit = [&](MetricId id, SampleOut::Labels labels, double value) {
    sink(catalog_sample<SampleOut>(id, std::move(labels), value));
  };
  for (const auto& h : health) {
    SampleOut::Labels r{{"resource", h.resource}};
    emit(MetricId::kv_watch_lists_total, r, static_cast<double>(h.lists));
    emit(MetricId::kv_watch_relists_total, r, static_cast<double>(h.relists));
    emit(MetricId::kv_watch_list_failures_total, r, static_cast<double>(h.list_failures));
    for (std::size_t i = 0; i < kRestartReasons; ++i)
      emit(MetricId::kv_watch_watch_restarts_total,
           {{"reason", restart_reason_name(static_cast<RestartReason>(i))}, {"resource", h.resource}},
           static_cast<double>(h.restarts[i]));
    for (std::size_t i = 0; i < kWatchEventTypes.size(); ++i)
      emit(MetricId::kv_watch_events_total, {{"resource", h.resource}, {"type", kWatchEventTypes[i]}},
           static_cast<double>(h.events[i]));
    emit(MetricId::kv_watch_cached_objects, r, static_cast<double>(h.objects));
    emit(MetricId::kv_watch_synced, r, h.synced ? 1 : 0);
    emit(MetricId::kv_watch_last_contact_age_seconds, r,
         static_cast<double>(std::max<std::int64_t>(0, now - h.contact)) / 1000.0);
  }
}

}  // namespace kv::watch
