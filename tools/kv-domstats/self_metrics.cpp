#include "kv-domstats/self_metrics.hpp"

#include <map>

#include "metric_catalog.hpp"

namespace kv::domstats {

namespace {

// Error counts appear once a reason has occurred; the commands once the
// agent has said which it runs.
template <typename Emit>
void emit_guest_agent_metrics(const GuestAgentStatus& agent, const SampleOut::Labels& labels,
                              const Emit& emit) {
  emit(MetricId::kv_domstats_guest_agent_up, labels, agent.up ? 1 : 0);
  emit(MetricId::kv_domstats_guest_agent_stuck, labels, agent.stuck ? 1 : 0);
  for (std::size_t i = 0; i < kAgentFailureCount; ++i) {
    if (agent.errors[i] == 0) continue;
    SampleOut::Labels with_reason = labels;
    with_reason.emplace_back("reason", to_string(static_cast<AgentFailure>(i)));
    emit(MetricId::kv_domstats_guest_agent_errors_total, with_reason,
         static_cast<double>(agent.errors[i]));
  }
  emit(MetricId::kv_domstats_guest_agent_refresh_duration_seconds, labels, agent.refresh_seconds);
  if (agent.last_success_ms > 0)
    emit(MetricId::kv_domstats_guest_agent_last_success_timestamp_seconds, labels,
         static_cast<double>(agent.last_success_ms) / 1000.0);
  if (agent.info) {
    for (std::string_view command : {kFilesystemsCommand, kLoadCommand}) {
      SampleOut::Labels with_command = labels;
      with_command.emplace_back("command", command);
      emit(MetricId::kv_domstats_guest_agent_command_supported, with_command,
           agent.info->supports(command) ? 1 : 0);
    }
  }
}

template <typename Emit>
void emit_dirty_rate_metrics(const DirtyRateStatus& dirty, const SampleOut::Labels& labels,
                             const Emit& emit) {
  emit(MetricId::kv_domstats_dirty_rate_up, labels, dirty.up ? 1 : 0);
  emit(MetricId::kv_domstats_dirty_rate_stuck, labels, dirty.stuck ? 1 : 0);
  for (std::size_t i = 0; i < kDirtyRateFailureCount; ++i) {
    if (dirty.errors[i] == 0) continue;
    SampleOut::Labels with_reason = labels;
    with_reason.emplace_back("reason", to_string(static_cast<DirtyRateFailure>(i)));
    emit(MetricId::kv_domstats_dirty_rate_errors_total, with_reason,
         static_cast<double>(dirty.errors[i]));
  }
  if (dirty.last_success_ms > 0)
    emit(MetricId::kv_domstats_dirty_rate_last_success_timestamp_seconds, labels,
         static_cast<double>(dirty.last_success_ms) / 1000.0);
}

}  // namespace

void emit_self_metrics(const CycleResult& cycle, const std::string& node,
                       const SampleSink& sink) {
  auto emit = [&](MetricId id, SampleOut::Labels labels, double value) {
    sink(catalog_sample<SampleOut>(id, std::move(labels), value));
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
    if (d.agent) emit_guest_agent_metrics(*d.agent, labels, emit);
    if (d.dirty_rate) emit_dirty_rate_metrics(*d.dirty_rate, labels, emit);
  }
  for (const auto& s : cycle.sources) {
    SampleOut::Labels labels{{"source", s.uri}};
    emit(MetricId::kv_domstats_source_up, labels, s.up ? 1 : 0);
    emit(MetricId::kv_domstats_source_stuck, labels, s.stuck ? 1 : 0);
    emit(MetricId::kv_domstats_source_errors_total, labels, static_cast<double>(s.errors_total));
    emit(MetricId::kv_domstats_source_read_duration_seconds, labels, s.read_seconds);
    emit(MetricId::kv_domstats_source_domains, labels, static_cast<double>(s.domains));
    emit(MetricId::kv_domstats_foreign_domains, labels, static_cast<double>(foreign[s.uri]));
    if (s.events_up) emit(MetricId::kv_domstats_source_events_up, labels, *s.events_up ? 1 : 0);
    emit(MetricId::kv_domstats_source_capabilities_errors_total, labels,
         static_cast<double>(s.capabilities_errors_total));
    if (s.events_up)
      emit(MetricId::kv_domstats_panic_log_errors_total, labels,
           static_cast<double>(s.panic_log_errors_total));
  }
  emit(MetricId::kv_domstats_cycle_duration_seconds, {}, cycle.seconds);
}

}  // namespace kv::domstats
