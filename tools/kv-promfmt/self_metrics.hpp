// kv-promfmt's own health as samples (kv_promfmt_*), merged into what it
// publishes: snapshots, samples, rejected lines by reason, duplicates, and
// the time of each input's last snapshot.
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

class SelfMetrics {
 public:
  SelfMetrics(std::vector<std::string> input_names, bool with_textfile);

  void rejected(std::size_t input, RejectReason reason);
  void published(std::size_t input, std::size_t samples, std::size_t duplicates,
                 std::int64_t now_ms);
  void textfile_error();

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
};

}  // namespace kv::promfmt
