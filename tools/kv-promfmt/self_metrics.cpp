#include "self_metrics.hpp"

#include "metric_catalog.hpp"

namespace kv::promfmt {

std::string_view to_string(OtlpFailure failure) {
  switch (failure) {
    case OtlpFailure::rejected: return "rejected";
    case OtlpFailure::retries_exhausted: return "retries_exhausted";
    case OtlpFailure::too_large: return "too_large";
  }
  return "unknown";
}

SelfMetrics::SelfMetrics(std::vector<std::string> input_names, bool with_textfile, bool with_otlp)
    : with_textfile_(with_textfile), with_otlp_(with_otlp) {
  for (auto& name : input_names) inputs_.push_back(PerInput{std::move(name)});
}

void SelfMetrics::rejected(std::size_t input, RejectReason reason) {
  std::lock_guard lock(mu_);
  ++inputs_[input].rejected[static_cast<std::size_t>(reason)];
}

void SelfMetrics::published(std::size_t input, std::size_t samples, std::size_t duplicates,
                            std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  PerInput& in = inputs_[input];
  ++in.snapshots;
  in.samples = samples;
  in.duplicates += duplicates;
  in.last_snapshot_ms = now_ms;
}

void SelfMetrics::textfile_error() {
  std::lock_guard lock(mu_);
  ++textfile_errors_;
}

void SelfMetrics::otlp_exported() {
  std::lock_guard lock(mu_);
  ++otlp_.exported;
}

void SelfMetrics::otlp_failed(OtlpFailure failure) {
  std::lock_guard lock(mu_);
  ++otlp_.failed[static_cast<std::size_t>(failure)];
}

void SelfMetrics::otlp_retried() {
  std::lock_guard lock(mu_);
  ++otlp_.retried;
}

void SelfMetrics::otlp_dropped() {
  std::lock_guard lock(mu_);
  ++otlp_.dropped;
}

void SelfMetrics::otlp_queue(std::size_t snapshots) {
  std::lock_guard lock(mu_);
  otlp_.queue = snapshots;
}

void SelfMetrics::otlp_sent_bytes(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  otlp_.sent_bytes += bytes;
}

void SelfMetrics::otlp_rejected_points(std::uint64_t points) {
  std::lock_guard lock(mu_);
  otlp_.rejected_points += points;
}

OtlpCounts SelfMetrics::otlp_counts() const {
  std::lock_guard lock(mu_);
  return otlp_;
}

std::uint64_t SelfMetrics::rejected_total() const {
  std::lock_guard lock(mu_);
  std::uint64_t total = 0;
  for (const auto& in : inputs_)
    for (auto n : in.rejected) total += n;
  return total;
}

std::shared_ptr<Snapshot> SelfMetrics::snapshot() const {
  std::lock_guard lock(mu_);
  SnapshotBuilder builder;
  SampleRecord s;
  // Names, types, units and help come from the metric catalog.
  auto add = [&](MetricId id, std::vector<LabelPair> labels, double value) {
    describe_sample(s, metric_info(id));
    s.labels = std::move(labels);
    s.value = value;
    builder.add(s);
  };
  for (const PerInput& in : inputs_) {
    add(MetricId::kv_promfmt_snapshots_published_total, {{"input", in.name}},
        static_cast<double>(in.snapshots));
    add(MetricId::kv_promfmt_samples, {{"input", in.name}}, static_cast<double>(in.samples));
    add(MetricId::kv_promfmt_duplicate_series_total, {{"input", in.name}},
        static_cast<double>(in.duplicates));
    if (in.snapshots > 0)
      add(MetricId::kv_promfmt_last_snapshot_timestamp_seconds, {{"input", in.name}},
          static_cast<double>(in.last_snapshot_ms) / 1000.0);
    for (std::size_t r = 0; r < kRejectReasonCount; ++r) {
      if (in.rejected[r] == 0) continue;
      add(MetricId::kv_promfmt_lines_rejected_total,
          {{"input", in.name}, {"reason", to_string(static_cast<RejectReason>(r))}},
          static_cast<double>(in.rejected[r]));
    }
  }
  if (with_textfile_)
    add(MetricId::kv_promfmt_textfile_write_errors_total, {},
        static_cast<double>(textfile_errors_));
  if (with_otlp_) {
    add(MetricId::kv_promfmt_otlp_exported_snapshots_total, {},
        static_cast<double>(otlp_.exported));
    for (std::size_t f = 0; f < kOtlpFailureCount; ++f)
      add(MetricId::kv_promfmt_otlp_failed_snapshots_total,
          {{"reason", std::string(to_string(static_cast<OtlpFailure>(f)))}},
          static_cast<double>(otlp_.failed[f]));
    add(MetricId::kv_promfmt_otlp_retries_total, {}, static_cast<double>(otlp_.retried));
    add(MetricId::kv_promfmt_otlp_dropped_snapshots_total, {}, static_cast<double>(otlp_.dropped));
    add(MetricId::kv_promfmt_otlp_queue_snapshots, {}, static_cast<double>(otlp_.queue));
    add(MetricId::kv_promfmt_otlp_sent_bytes_total, {}, static_cast<double>(otlp_.sent_bytes));
    add(MetricId::kv_promfmt_otlp_rejected_points_total, {},
        static_cast<double>(otlp_.rejected_points));
  }
  return builder.finish("kv-promfmt");
}

}  // namespace kv::promfmt
