// What kv-domstats makes of a dirty-rate refresh (--dirty-rate): failures
// told apart, a domain's kept value and status updated. Pure: no libvirt
// calls, no clock.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kv-domstats/domain_record.hpp"

namespace kv::domstats {

// Why a refresh got no value. The value names the `reason` label of
// kv_domstats_dirty_rate_errors_total.
enum class DirtyRateFailure : std::uint8_t {
  not_running,  // the domain is paused (or not running any more)
  timeout,      // not measured in time, or the domain's job was busy
  connection,   // the read-write libvirt connection failed
  error,        // anything else: libvirt or QEMU refused
};
inline constexpr std::size_t kDirtyRateFailureCount = 4;
std::string_view to_string(DirtyRateFailure failure);
DirtyRateFailure classify_dirty_rate_failure(int libvirt_error_code);

// What one refresh got: the dirtyrate.* fields of a measured calculation,
// or why not.
struct DirtyRateRefresh {
  Params measured;
  std::optional<DirtyRateFailure> failure;
  std::string error;
  double seconds = 0;
};

// A domain's dirty-rate health, for the self-metrics.
struct DirtyRateStatus {
  bool up = false;     // the last refresh measured
  bool stuck = false;  // a refresh has been running longer than it may take
  std::array<std::uint64_t, kDirtyRateFailureCount> errors{};  // by DirtyRateFailure
  std::int64_t last_success_ms = 0;  // 0: never
};

// Updates a domain's kept fields and status with a finished refresh: a
// measurement replaces the fields; a timeout or a failed connection keeps
// them (a domain that hangs keeps its last value); anything else, a
// paused domain included, drops them.
void apply_dirty_rate(Params& kept, DirtyRateStatus& status, const DirtyRateRefresh& refresh,
                      std::int64_t now_ms);

// A migration runs: the job's operation is an incoming or outgoing one.
bool migrating(const DomainRecord& record);

}  // namespace kv::domstats
