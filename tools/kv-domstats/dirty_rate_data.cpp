#include "kv-domstats/dirty_rate_data.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

std::string_view to_string(DirtyRateFailure failure) {
  switch (failure) {
    case DirtyRateFailure::not_running: return "not_running";
    case DirtyRateFailure::timeout: return "timeout";
    case DirtyRateFailure::connection: return "connection";
    case DirtyRateFailure::error: return "error";
  }
  return "error";
}

DirtyRateFailure classify_dirty_rate_failure(int code) {
  switch (code) {
    case VIR_ERR_OPERATION_INVALID: return DirtyRateFailure::not_running;
    // The domain's job stayed busy past libvirt's wait (a stuck monitor).
    case VIR_ERR_OPERATION_TIMEOUT: return DirtyRateFailure::timeout;
    default: return is_connection_error(code) ? DirtyRateFailure::connection : DirtyRateFailure::error;
  }
}

void apply_dirty_rate(Params& kept, DirtyRateStatus& status, const DirtyRateRefresh& refresh,
                      std::int64_t now_ms) {
  status.up = !refresh.failure;
  if (refresh.failure) {
    ++status.errors[static_cast<std::size_t>(*refresh.failure)];
    if (*refresh.failure != DirtyRateFailure::timeout &&
        *refresh.failure != DirtyRateFailure::connection)
      kept.clear();
  } else {
    status.last_success_ms = now_ms;
    kept = refresh.measured;
  }
}

bool migrating(const DomainRecord& r) {
  if (!r.job_type) return false;
  auto op = r.job.find(VIR_DOMAIN_JOB_OPERATION);
  if (op == r.job.end()) return false;
  auto v = as_number(op->second);
  return v && (*v == static_cast<double>(VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN) ||
               *v == static_cast<double>(VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT));
}

}  // namespace kv::domstats
