#include "kv-domstats/guest_agent_data.hpp"

#include <libvirt/virterror.h>

#include <algorithm>
#include <stdexcept>

#include "kv-domstats/guest_agent_json.hpp"
#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

namespace dom = simdjson::dom;

namespace {

// The "return" member of an agent reply; `parser` owns what it points to.
dom::element return_value(dom::parser& parser, std::string_view reply) {
  dom::element doc;
  if (auto err = parser.parse(reply.data(), reply.size()).get(doc))
    throw std::runtime_error(std::string("the agent's reply is not JSON: ") +
                             simdjson::error_message(err));
  dom::element ret;
  if (doc["return"].get(ret)) throw std::runtime_error("the agent's reply has no \"return\"");
  return ret;
}

}  // namespace

bool AgentInfo::supports(std::string_view command) const {
  return std::binary_search(enabled_commands.begin(), enabled_commands.end(), command);
}

AgentInfo parse_agent_info(std::string_view reply) {
  dom::parser parser;
  dom::object obj;
  if (return_value(parser, reply).get_object().get(obj))
    throw std::runtime_error("guest-info must return an object");
  AgentInfo info;
  std::string_view version;
  if (!obj["version"].get_string().get(version)) info.version = version;
  dom::array commands;
  if (obj["supported_commands"].get_array().get(commands))
    throw std::runtime_error("guest-info must list \"supported_commands\"");
  for (dom::element c : commands) {
    std::string_view name;
    bool enabled = false;
    if (c["name"].get_string().get(name) || c["enabled"].get_bool().get(enabled))
      throw std::runtime_error("a supported command needs \"name\" and \"enabled\"");
    if (enabled) info.enabled_commands.emplace_back(name);
  }
  std::sort(info.enabled_commands.begin(), info.enabled_commands.end());
  return info;
}

std::vector<GuestFilesystem> parse_filesystems(std::string_view reply) {
  dom::parser parser;
  return filesystems_from_json(return_value(parser, reply));
}

GuestLoad parse_load(std::string_view reply) {
  dom::parser parser;
  return load_from_json(return_value(parser, reply));
}

std::string_view to_string(AgentFailure failure) {
  switch (failure) {
    case AgentFailure::not_running: return "not_running";
    case AgentFailure::not_configured: return "not_configured";
    case AgentFailure::not_connected: return "not_connected";
    case AgentFailure::timeout: return "timeout";
    case AgentFailure::connection: return "connection";
    case AgentFailure::error: return "error";
  }
  return "error";
}

AgentFailure classify_agent_failure(int code, std::chrono::milliseconds took,
                                    std::chrono::milliseconds timeout) {
  switch (code) {
    case VIR_ERR_OPERATION_INVALID: return AgentFailure::not_running;
    case VIR_ERR_ARGUMENT_UNSUPPORTED: return AgentFailure::not_configured;
    // "not connected" comes at once; "not available for now" after the wait.
    case VIR_ERR_AGENT_UNRESPONSIVE:
      return took >= timeout ? AgentFailure::timeout : AgentFailure::not_connected;
    // Another client's agent call held the domain's agent job too long.
    case VIR_ERR_OPERATION_TIMEOUT: return AgentFailure::timeout;
    default: return is_connection_error(code) ? AgentFailure::connection : AgentFailure::error;
  }
}

bool keeps_guest_values(AgentFailure failure) {
  return failure == AgentFailure::timeout || failure == AgentFailure::connection;
}

void apply_refresh(GuestAgentData& data, GuestAgentStatus& status, const AgentRefresh& refresh,
                   std::int64_t now_ms) {
  status.refresh_seconds = refresh.seconds;
  status.up = !refresh.failure;
  if (refresh.failure) ++status.errors[static_cast<std::size_t>(*refresh.failure)];
  else status.last_success_ms = now_ms;
  bool keep = refresh.failure && keeps_guest_values(*refresh.failure);
  if (refresh.info) status.info = refresh.info;
  else if (!keep) status.info.reset();
  if (refresh.filesystems) data.filesystems = refresh.filesystems;
  else if (!keep) data.filesystems.reset();
  if (refresh.load) data.load = refresh.load;
  else if (!keep) data.load.reset();
}

}  // namespace kv::domstats
