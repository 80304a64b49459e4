#include "kv-watch/self_metrics.hpp"

#include <string>

#include "metric_catalog.hpp"

namespace kv::watch {

void emit_self_metrics(const std::vector<std::unique_ptr<Informer>>& informers, std::int64_t now,
                       std::int64_t started_ms, const SampleSink& sink) {
  auto emit = [&](MetricId id, SampleOut::Labels labels, double value) {
    sink(catalog_sample<SampleOut>(id, std::move(labels), value));
  };
  for (const auto& inf : informers) {
    const std::string resource = inf->type().id();
    const auto& st = inf->stats();
    SampleOut::Labels r{{"resource", resource}};
    emit(MetricId::kv_watch_lists_total, r, static_cast<double>(st.lists.load()));
    emit(MetricId::kv_watch_relists_total, r, static_cast<double>(st.relists.load()));
    emit(MetricId::kv_watch_list_failures_total, r, static_cast<double>(st.list_failures.load()));
    for (std::size_t i = 0; i < kRestartReasons; ++i)
      emit(MetricId::kv_watch_watch_restarts_total,
           {{"reason", restart_reason_name(static_cast<RestartReason>(i))}, {"resource", resource}},
           static_cast<double>(st.restarts[i].load()));
    for (std::size_t i = 0; i < kWatchEventTypes.size(); ++i)
      emit(MetricId::kv_watch_events_total, {{"resource", resource}, {"type", kWatchEventTypes[i]}},
           static_cast<double>(st.events[i].load()));
    std::size_t objects;
    {
      std::lock_guard lock(inf->cache().mutex());
      objects = inf->cache().size();
    }
    emit(MetricId::kv_watch_cached_objects, r, static_cast<double>(objects));
    emit(MetricId::kv_watch_synced, r, st.synced.load() ? 1 : 0);
    std::int64_t contact = st.last_contact_ms.load();
    if (contact == 0) contact = started_ms;
    emit(MetricId::kv_watch_last_contact_age_seconds, r,
         static_cast<double>(std::max<std::int64_t>(0, now - contact)) / 1000.0);
  }
}

}  // namespace kv::watch
