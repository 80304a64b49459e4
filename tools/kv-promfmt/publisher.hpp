// Holds the latest snapshot of every input and publishes their merge to the
// sinks: stdout, the textfile, the exposition the HTTP server serves, and
// the OTLP exporter's queue.
#pragma once

#include <array>
#include <chrono>
#include <set>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exposition.hpp"
#include "options.hpp"
#include "otlp_batch.hpp"
#include "otlp_exporter.hpp"
#include "self_metrics.hpp"
#include "snapshot.hpp"

namespace kv::promfmt {

// One published merge, immutable. Each format/encoding is rendered on first
// request and kept, so scrapes of an unchanged snapshot only copy bytes.
class Exposition {
 public:
  Exposition(std::vector<std::shared_ptr<const Snapshot>> snapshots, bool timestamps,
             std::uint64_t generation, std::int64_t published_ms);
  std::shared_ptr<const std::string> body(ExpositionFormat format, bool gzip) const;
  std::uint64_t generation() const { return generation_; }
  std::int64_t published_ms() const { return published_ms_; }
  const MergedView& view() const { return view_; }

 private:
  struct Variant {
    mutable std::once_flag once;
    mutable std::shared_ptr<const std::string> body;
  };
  std::vector<std::shared_ptr<const Snapshot>> snapshots_;  // keep view_ valid
  MergedView view_;
  bool timestamps_;
  std::uint64_t generation_;
  std::int64_t published_ms_;
  std::array<Variant, 4> variants_;  // [format * 2 + gzip]
};

class Publisher {
 public:
  // `exporter` (may be null) gets every merge as an OTLP batch.
  Publisher(const Options& options, SelfMetrics& self, std::vector<std::string> input_names,
            OtlpExporter* exporter = nullptr);

  // Replaces the input's snapshot and publishes. Throws std::system_error
  // when stdout is gone (EPIPE) or cannot be written.
  void publish(std::size_t input, std::shared_ptr<const Snapshot> snapshot);

  std::shared_ptr<const Exposition> current() const;
  bool textfile_failed() const { return textfile_failed_; }

  // Waits up to `timeout` for a publish in progress to finish, then makes
  // every later publish a no-op, so the process can exit without leaving a
  // half-written output. False when the wait timed out (stdout blocked).
  bool close(std::chrono::milliseconds timeout);

 private:
  void write_stdout(const MergedView& view);
  void write_stdout_otlp(const OtlpBatch& batch);
  void write_textfile(const MergedView& view);

  const Options& options_;
  SelfMetrics& self_;
  std::timed_mutex mu_;  // one publish at a time
  bool closed_ = false;
  std::set<std::string> warned_conflicts_;
  std::vector<std::string> names_;
  std::vector<std::shared_ptr<const Snapshot>> latest_;
  std::uint64_t generation_ = 0;
  mutable std::mutex current_mu_;
  std::shared_ptr<const Exposition> current_;
  std::atomic<bool> textfile_failed_{false};
  OtlpExporter* exporter_;
  OtlpSeriesTracker otlp_series_;  // counter start times and vanished series, merge to merge
};

}  // namespace kv::promfmt
