// What kv-domstats makes of the guest agent's answers: its replies parsed,
// its failures told apart, and a domain's kept values and status updated
// from one refresh. Pure: no libvirt calls, no clock, no globals.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv-domstats/domain_record.hpp"

namespace kv::domstats {

// The agent commands kv-domstats sends.
inline constexpr std::string_view kAgentInfoCommand = "guest-info";
inline constexpr std::string_view kFilesystemsCommand = "guest-get-fsinfo";
inline constexpr std::string_view kLoadCommand = "guest-get-load";

// guest-info: the agent's version and the commands it will run now.
struct AgentInfo {
  std::string version;
  std::vector<std::string> enabled_commands;  // sorted
  bool supports(std::string_view command) const;
};

// Each takes the agent's whole reply, {"return": ...}, as
// virDomainQemuAgentCommand hands it over, and throws std::runtime_error
// when it is not what the command returns.
AgentInfo parse_agent_info(std::string_view reply);
std::vector<GuestFilesystem> parse_filesystems(std::string_view reply);
GuestLoad parse_load(std::string_view reply);

// Why a refresh did not get its answers. The value names the `reason`
// label of kv_domstats_guest_agent_errors_total.
enum class AgentFailure : std::uint8_t {
  not_running,     // the domain is paused or shut off
  not_configured,  // the domain has no guest-agent channel
  not_connected,   // the channel is there, no agent listens on it
  timeout,         // the agent did not answer in time
  connection,      // the read-write libvirt connection failed
  error,           // anything else: the agent or libvirt refused
};
inline constexpr std::size_t kAgentFailureCount = 6;
std::string_view to_string(AgentFailure failure);

// Tells a failure apart by libvirt's error code (virErrorNumber) and by how
// long the call took: libvirt reports an agent that is not connected and
// one that did not answer with the same code.
AgentFailure classify_agent_failure(int libvirt_error_code, std::chrono::milliseconds took,
                                    std::chrono::milliseconds timeout);

// A failure that says nothing new about the guest: values read before are
// kept, as a stuck domain keeps its last values.
bool keeps_guest_values(AgentFailure failure);

// What one refresh of a domain got. A command's value is absent when the
// agent does not offer it or the refresh stopped before it.
struct AgentRefresh {
  std::optional<AgentInfo> info;
  std::optional<std::vector<GuestFilesystem>> filesystems;
  std::optional<GuestLoad> load;
  std::optional<AgentFailure> failure;  // where it stopped; none when all went well
  std::string error;                    // libvirt's message for it
  double seconds = 0;
};

// A domain's guest-agent health, for the self-metrics.
struct GuestAgentStatus {
  bool up = false;     // the last refresh got every answer it asked for
  bool stuck = false;  // a refresh has been running longer than the agent timeout
  std::array<std::uint64_t, kAgentFailureCount> errors{};  // by AgentFailure
  double refresh_seconds = 0;       // of the last finished refresh
  std::int64_t last_success_ms = 0;  // 0: never
  std::optional<AgentInfo> info;    // from the last guest-info that answered
};

// Updates a domain's kept values and status with a finished refresh: a
// value the agent gave replaces the old one; one it did not give is
// dropped, unless the refresh failed in a way that keeps guest values.
void apply_refresh(GuestAgentData& data, GuestAgentStatus& status, const AgentRefresh& refresh,
                   std::int64_t now_ms);

}  // namespace kv::domstats
