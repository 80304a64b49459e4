#include "kv-domstats/guest_agent.hpp"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

using Clock = std::chrono::steady_clock;

namespace {

// A domain whose agent is not there yet (the guest still boots, or the VM
// is paused) is asked again this soon, unless --guest-agent-interval is
// shorter: those answers come at once and change when the guest is up.
constexpr std::chrono::milliseconds kNotReadyRetry{10'000};

std::string command_json(std::string_view command) {
  return "{\"execute\":\"" + std::string(command) + "\"}";
}

struct AgentState : TaskState {
  GuestAgentData data;
  GuestAgentStatus status;
  std::optional<AgentFailure> last_failure;  // to log changes only
};

struct AgentResult : TaskResult {
  AgentRefresh refresh;
};

class GuestAgentTask : public DomainTask {
 public:
  explicit GuestAgentTask(GuestAgentOptions options) : options_(options) {}

  std::unique_ptr<TaskState> new_state() const override { return std::make_unique<AgentState>(); }

  // guest-info first: it tells which of the other commands the agent runs
  // (guest-get-load only since qemu-guest-agent 10.0). A refresh stops at
  // its first failure: after a timeout the agent is busy with the command
  // that hung, and would not answer the next one either.
  std::unique_ptr<TaskResult> run(virDomainPtr dom) const override {
    auto begin = Clock::now();
    auto result = std::make_unique<AgentResult>();
    AgentRefresh& out = result->refresh;
    auto done = [&] {
      out.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
      return std::move(result);
    };
    // Runs `command` and parses its reply into `into`; false on failure.
    auto read = [&](std::string_view command, auto& into, auto parse) {
      auto call_start = Clock::now();
      char* reply = virDomainQemuAgentCommand(dom, command_json(command).c_str(),
                                              static_cast<int>(options_.timeout.count()), 0);
      if (!reply) {
        auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - call_start);
        out.failure = classify_agent_failure(virGetLastErrorCode(), took, options_.timeout);
        out.error = libvirt_error();
        return false;
      }
      std::string text(reply);
      free(reply);
      try {
        into = parse(text);
      } catch (const std::runtime_error& e) {
        out.failure = AgentFailure::error;
        out.error = std::string(command) + ": " + e.what();
        return false;
      }
      return true;
    };

    if (!read(kAgentInfoCommand, out.info, parse_agent_info)) return done();
    if (out.info->supports(kFilesystemsCommand) &&
        !read(kFilesystemsCommand, out.filesystems, parse_filesystems))
      return done();
    if (out.info->supports(kLoadCommand)) read(kLoadCommand, out.load, parse_load);
    return done();
  }

  std::unique_ptr<TaskResult> unreachable(const Unreachable& why) const override {
    auto result = std::make_unique<AgentResult>();
    result->refresh.failure =
        why.connection ? AgentFailure::connection
                       : classify_agent_failure(why.libvirt_code, why.took, options_.timeout);
    result->refresh.error = why.error;
    result->refresh.seconds = std::chrono::duration<double>(why.took).count();
    return result;
  }

  std::chrono::milliseconds apply(TaskState& state, const TaskResult& result,
                                  const std::string& domain, std::int64_t now_ms) const override {
    auto& s = static_cast<AgentState&>(state);
    const AgentRefresh& r = static_cast<const AgentResult&>(result).refresh;
    apply_refresh(s.data, s.status, r, now_ms);
    if (r.failure != s.last_failure) {
      if (r.failure) spdlog::warn("{}: guest agent: {}", domain, r.error);
      else spdlog::info("{}: the guest agent answers", domain);
      s.last_failure = r.failure;
    }
    bool not_ready = r.failure && (*r.failure == AgentFailure::not_connected ||
                                   *r.failure == AgentFailure::not_running);
    return not_ready ? std::min(options_.interval, kNotReadyRetry) : options_.interval;
  }

  void fill(const TaskState& state, DomainResult& result,
            std::optional<Clock::duration> running_for) const override {
    const auto& s = static_cast<const AgentState&>(state);
    result.record.guest = s.data;
    result.agent = s.status;
    result.agent->stuck = running_for && *running_for >= options_.timeout;
  }

  std::chrono::milliseconds once_wait() const override { return options_.timeout; }

 private:
  GuestAgentOptions options_;
};

}  // namespace

std::shared_ptr<const DomainTask> make_guest_agent_task(GuestAgentOptions options) {
  return std::make_shared<GuestAgentTask>(options);
}

}  // namespace kv::domstats
