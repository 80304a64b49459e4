// kv-promfmt's own health as samples (kv_promfmt_*), merged into what it
// publishes: snapshots, samples, rejected lines by reason, duplicates, the
// time of each input's last snapshot, and with an OTLP endpoint, what became
// of the snapshots pushed to it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "record_parser.hpp"
#include "snapshot.hpp"

namespace kv::promfmt {

// Why a snapshot could not be delivered to the OTLP endpoint.
enum class OtlpFailure : std::uint8_t {
  rejected,           // the collector refused it for good (400, 401, 404, 413, ...)
  retries_exhausted,  // still failing when --otlp-retry-max-time was up
  too_large,          // a request would exceed --otlp-max-request-size
};
inline constexpr std::size_t kOtlpFailureCount = 3;
std::string_view to_string(OtlpFailure failure);

struct OtlpCounts {
  std::uint64_t exported = 0, retried = 0, dropped = 0, queue = 0, sent_bytes = 0,
                rejected_points = 0;
  std::array<std::uint64_t, kOtlpFailureCount> failed{};
};

class SelfMetrics {
 public:
  SelfMetrics(std::vector<std::string> input_names, bool with_textfile, bool with_otlp = false);

  void rejected(std::size_t input, RejectReason reason);
  void published(std::size_t input, std::size_t samples, std::size_t duplicates,
                 std::int64_t now_ms);
  void textfile_error();

  // The OTLP exporter's counts.
  void otlp_exported();
  void otlp_failed(OtlpFailure failure);
  void otlp_retried();
  void otlp_dropped();
  void otlp_queue(std::size_t snapshots);
  void otlp_sent_bytes(std::uint64_t bytes);
  void otlp_rejected_points(std::uint64_t points);
  OtlpCounts otlp_counts() const;

  std::uint64_t rejected_total() const;
  // The current values as a snapshot, to publish with the inputs'.
  std::shared_ptr<Snapshot> snapshot() const;

 private:
  struct PerInput {
    std::string name;
    std::uint64_t snapshots = 0;
    std::uint64_t samples = 0;
    std::uint64_t duplicates = 0;
    std::int64_t last_snapshot_ms = 0;
    std::array<std::uint64_t, kRejectReasonCount> rejected{};
  };
  mutable std::mutex mu_;
  std::vector<PerInput> inputs_;
  bool with_textfile_;
  std::uint64_t textfile_errors_ = 0;
  bool with_otlp_;
  OtlpCounts otlp_;
};

}  // namespace kv::promfmt
