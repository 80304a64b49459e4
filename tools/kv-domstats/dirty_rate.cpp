#include "kv-domstats/dirty_rate.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

using Clock = std::chrono::steady_clock;

namespace {

// A paused domain is looked at again this soon, unless the interval is
// shorter: it is measured soon after it resumes.
constexpr std::chrono::milliseconds kNotRunningRetry{10'000};
constexpr std::chrono::milliseconds kPoll{200};

}  // namespace

namespace {

struct DirtyState : TaskState {
  Params kept;
  DirtyRateStatus status;
  std::optional<DirtyRateFailure> last_failure;  // to log changes only
};

struct DirtyResult : TaskResult {
  DirtyRateRefresh refresh;
};

class DirtyRateTask : public DomainTask {
 public:
  explicit DirtyRateTask(DirtyRateOptions options) : options_(options) {}

  std::unique_ptr<TaskState> new_state() const override { return std::make_unique<DirtyState>(); }

  bool wanted(const DomainRecord& r) const override { return !migrating(r); }
  void unwanted(TaskState& state) const override {
    auto& s = static_cast<DirtyState&>(state);
    s.kept.clear();
  }

  std::unique_ptr<TaskResult> run(virDomainPtr dom) const override {
    auto begin = Clock::now();
    auto result = std::make_unique<DirtyResult>();
    DirtyRateRefresh& out = result->refresh;
    auto failed = [&](std::optional<DirtyRateFailure> why = std::nullopt) {
      out.failure = why ? *why : classify_dirty_rate_failure(virGetLastErrorCode());
      if (out.error.empty()) out.error = libvirt_error();
      out.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
      return std::move(result);
    };

    int state = 0, reason = 0;
    if (virDomainGetState(dom, &state, &reason, 0) < 0) return failed();
    if (state != VIR_DOMAIN_RUNNING) {
      out.error = "the domain is not running";
      return failed(DirtyRateFailure::not_running);
    }
    if (virDomainStartDirtyRateCalc(dom, static_cast<int>(options_.calc.count()),
                                    VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING) < 0)
      return failed();
    std::this_thread::sleep_for(options_.calc);
    auto deadline = Clock::now() + options_.wait;
    for (;;) {
      virDomainPtr doms[] = {dom, nullptr};
      virDomainStatsRecordPtr* records = nullptr;
      int n = virDomainListGetStats(doms, VIR_DOMAIN_STATS_DIRTYRATE, &records, 0);
      if (n < 0) return failed();
      Params params;
      if (n > 0) params = to_params(records[0]->params, records[0]->nparams);
      virDomainStatsRecordListFree(records);
      auto status = params.find("dirtyrate.calc_status");
      auto value = status == params.end() ? std::nullopt : as_number(status->second);
      if (value && *value == static_cast<double>(VIR_DOMAIN_DIRTYRATE_MEASURED)) {
        out.measured = std::move(params);
        out.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
        return result;
      }
      if (!value || *value == static_cast<double>(VIR_DOMAIN_DIRTYRATE_UNSTARTED)) {
        out.error = "libvirt reports no dirty-rate calculation after starting one";
        return failed(DirtyRateFailure::error);
      }
      if (Clock::now() >= deadline) {
        out.error = "the dirty-rate calculation was not measured in time";
        return failed(DirtyRateFailure::timeout);
      }
      std::this_thread::sleep_for(kPoll);
    }
  }

  std::unique_ptr<TaskResult> unreachable(const Unreachable& why) const override {
    auto result = std::make_unique<DirtyResult>();
    result->refresh.failure = why.connection ? DirtyRateFailure::connection
                                             : classify_dirty_rate_failure(why.libvirt_code);
    result->refresh.error = why.error;
    result->refresh.seconds = std::chrono::duration<double>(why.took).count();
    return result;
  }

  std::chrono::milliseconds apply(TaskState& state, const TaskResult& result,
                                  const std::string& domain, std::int64_t now_ms) const override {
    auto& s = static_cast<DirtyState&>(state);
    const DirtyRateRefresh& r = static_cast<const DirtyResult&>(result).refresh;
    apply_dirty_rate(s.kept, s.status, r, now_ms);
    // A paused domain is not a failure to log.
    auto logged = r.failure == DirtyRateFailure::not_running ? std::nullopt : r.failure;
    if (logged != s.last_failure) {
      if (logged) spdlog::warn("{}: dirty rate: {}", domain, r.error);
      else if (s.last_failure) spdlog::info("{}: the dirty rate is measured again", domain);
      s.last_failure = logged;
    }
    return r.failure == DirtyRateFailure::not_running
               ? std::min(options_.interval, kNotRunningRetry)
               : options_.interval;
  }

  void fill(const TaskState& state, DomainResult& result,
            std::optional<Clock::duration> running_for) const override {
    const auto& s = static_cast<const DirtyState&>(state);
    result.record.dirty_rate = s.kept;
    result.dirty_rate = s.status;
    result.dirty_rate->stuck = running_for && *running_for >= once_wait();
  }

  // The calculation, the wait for its result, and a second for the calls.
  std::chrono::milliseconds once_wait() const override {
    return options_.calc + options_.wait + std::chrono::seconds(1);
  }

 private:
  DirtyRateOptions options_;
};

}  // namespace

std::shared_ptr<const DomainTask> make_dirty_rate_task(DirtyRateOptions options) {
  return std::make_shared<DirtyRateTask>(options);
}

}  // namespace kv::domstats
