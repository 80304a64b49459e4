#include "kv-domstats/self_metrics.hpp"

#include <map>

#include "metric_catalog.hpp"

namespace kv::domstats {

void emit_self_metrics(const CycleResult& cycle, const std::string& node,
                       const SampleSink& sink) {
  auto emit = [&](MetricId id, SampleOut::Labels labels, double value) {
    SampleOut s;
    describe_sample(s, metric_info(id));
    s.labels = std::move(labels);
    s.value = value;
    sink(s);
  };
  std::map<std::string, std::size_t> foreign;
  for (const auto& d : cycle.domains) {
    auto id = kubevirt_identity(d.record.name);
    if (!id) {
      ++foreign[d.record.source];
      continue;
    }
    SampleOut::Labels labels{{"name", id->name}, {"namespace", id->ns}, {"node", node}};
    emit(MetricId::kv_domstats_domain_last_collection_timestamp_seconds, labels,
         static_cast<double>(d.collected_ms) / 1000.0);
    emit(MetricId::kv_domstats_domain_stale, labels, d.stale ? 1 : 0);
  }
  for (const auto& s : cycle.sources) {
    SampleOut::Labels labels{{"source", s.uri}};
    emit(MetricId::kv_domstats_source_up, labels, s.up ? 1 : 0);
    emit(MetricId::kv_domstats_source_stuck, labels, s.stuck ? 1 : 0);
    emit(MetricId::kv_domstats_source_errors_total, labels, static_cast<double>(s.errors_total));
    emit(MetricId::kv_domstats_source_read_duration_seconds, labels, s.read_seconds);
    emit(MetricId::kv_domstats_source_domains, labels, static_cast<double>(s.domains));
    emit(MetricId::kv_domstats_foreign_domains, labels, static_cast<double>(foreign[s.uri]));
  }
  emit(MetricId::kv_domstats_cycle_duration_seconds, {}, cycle.seconds);
}

}  // namespace kv::domstats
