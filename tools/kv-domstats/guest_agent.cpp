#include "kv-domstats/guest_agent.hpp"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <thread>

#include "clock.hpp"
#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

using Clock = std::chrono::steady_clock;

namespace {

// A domain whose agent is not there yet (the guest still boots, or the VM
// is paused) is asked again this soon, unless --guest-agent-interval is
// shorter: those answers come at once and change when the guest is up.
constexpr std::chrono::milliseconds kNotReadyRetry{10'000};

std::string agent_key(const DomainRecord& r) { return r.source + "\n" + r.uuid; }

std::string command_json(std::string_view command) {
  return "{\"execute\":\"" + std::string(command) + "\"}";
}

}  // namespace

struct GuestAgentPoller::Refresh {
  bool done = false;
  AgentRefresh result;
};

// The read-write connection of one domain, opened by its first refresh and
// used by one refresh at a time. One per domain, not per source: on a
// shared connection a call to a hung agent held up the calls to other
// domains' agents by seconds (libvirt 9.0's client, measured).
struct GuestAgentPoller::Connection {
  explicit Connection(std::string u) : uri(std::move(u)) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Opens the connection if needed; throws with libvirt's message.
  void open() {
    if (conn && virConnectIsAlive(conn) == 1) return;
    close();
    conn = virConnectOpen(uri.c_str());
    if (!conn)
      throw std::runtime_error("cannot open a read-write connection to " + uri + ": " +
                               libvirt_error());
  }

  void close() {
    if (conn) virConnectClose(conn);
    conn = nullptr;
  }

  AgentRefresh refresh(const std::string& uuid, std::chrono::seconds timeout);

  const std::string uri;
  virConnectPtr conn = nullptr;
};

// guest-info first: it tells which of the other commands the agent runs
// (guest-get-load only since qemu-guest-agent 10.0). A refresh stops at its
// first failure: after a timeout the agent is busy with the command that
// hung, and would not answer the next one either.
AgentRefresh GuestAgentPoller::Connection::refresh(const std::string& uuid,
                                                   std::chrono::seconds timeout) {
  auto begin = Clock::now();
  AgentRefresh out;
  auto done = [&] {
    out.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
    return out;
  };

  try {
    open();
  } catch (const std::runtime_error& e) {
    out.failure = AgentFailure::connection;
    out.error = e.what();
    return done();
  }
  auto call_failed = [&](Clock::time_point call_start) {
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - call_start);
    out.failure = classify_agent_failure(virGetLastErrorCode(), took, timeout);
    out.error = libvirt_error();
    if (out.failure == AgentFailure::connection) close();  // the next refresh reconnects
  };

  auto lookup_start = Clock::now();
  std::unique_ptr<virDomain, int (*)(virDomainPtr)> dom(
      virDomainLookupByUUIDString(conn, uuid.c_str()), virDomainFree);
  if (!dom) {
    call_failed(lookup_start);
    return done();
  }
  // Runs `command` and parses its reply into `into`; false on failure.
  auto read = [&](std::string_view command, auto& into, auto parse) {
    auto call_start = Clock::now();
    char* reply = virDomainQemuAgentCommand(dom.get(), command_json(command).c_str(),
                                            static_cast<int>(timeout.count()), 0);
    if (!reply) {
      call_failed(call_start);
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

GuestAgentPoller::GuestAgentPoller(GuestAgentOptions options) : options_(options) {}

// Refreshes still running hold their own references; nothing waits for them.
GuestAgentPoller::~GuestAgentPoller() = default;

void GuestAgentPoller::finish(Domain& d) {
  const AgentRefresh& r = d.running->result;
  apply_refresh(d.data, d.status, r, now_ms());
  if (r.failure != d.last_failure) {
    if (r.failure) spdlog::warn("{}: guest agent: {}", d.name, r.error);
    else spdlog::info("{}: the guest agent answers", d.name);
    d.last_failure = r.failure;
  }
  bool not_ready = r.failure && (*r.failure == AgentFailure::not_connected ||
                                 *r.failure == AgentFailure::not_running);
  d.next_due = d.started + (not_ready ? std::min(options_.interval, kNotReadyRetry)
                                      : options_.interval);
  d.running.reset();
}

void GuestAgentPoller::start(Domain& d, const DomainRecord& record) {
  if (!d.connection) d.connection = std::make_shared<Connection>(record.source);
  auto refresh = std::make_shared<Refresh>();
  d.running = refresh;
  d.started = Clock::now();
  d.name = record.name;
  std::thread([refresh, conn = d.connection, uuid = record.uuid, timeout = options_.timeout,
               mu = mu_, cv = cv_] {
    AgentRefresh result = conn->refresh(uuid, timeout);
    std::lock_guard done_lock(*mu);
    refresh->result = std::move(result);
    refresh->done = true;
    cv->notify_all();
  }).detach();
}

void GuestAgentPoller::update(std::vector<DomainResult>& domains) {
  auto now = Clock::now();
  std::lock_guard lock(*mu_);
  for (auto& [key, d] : domains_)
    if (d.running && d.running->done) finish(d);

  // Domains that are gone are forgotten, with their connections; a refresh
  // still running keeps what it uses until it returns.
  std::set<std::string> keys;
  for (const auto& d : domains)
    if (kubevirt_identity(d.record.name)) keys.insert(agent_key(d.record));
  std::erase_if(domains_, [&](const auto& entry) { return !keys.count(entry.first); });

  std::size_t in_flight = 0;
  for (const auto& [key, d] : domains_) in_flight += d.running != nullptr;
  for (auto& result : domains) {
    const DomainRecord& r = result.record;
    if (!kubevirt_identity(r.name)) continue;
    Domain& d = domains_[agent_key(r)];
    if (!d.running && now >= d.next_due && in_flight < options_.max_in_flight) {
      start(d, r);
      ++in_flight;
    }
    result.record.guest = d.data;
    result.agent = d.status;
    result.agent->stuck = d.running && now - d.started >= options_.timeout;
  }
}

void GuestAgentPoller::wait(Clock::time_point deadline) {
  std::unique_lock lock(*mu_);
  cv_->wait_until(lock, deadline, [&] {
    return std::none_of(domains_.begin(), domains_.end(), [](const auto& entry) {
      return entry.second.running && !entry.second.running->done;
    });
  });
}

}  // namespace kv::domstats
