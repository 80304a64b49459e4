// --guest-agent: asks each KubeVirt domain's QEMU guest agent for its
// filesystems (guest-get-fsinfo) and load (guest-get-load), off the bulk
// stats path, and keeps the answers between refreshes.
//
// libvirt refuses agent commands on a read-only connection, so this opens
// a read-write connection per domain, only when --guest-agent is given.
// It never changes a domain: it sends only commands that read (guest-info,
// guest-get-fsinfo, guest-get-load) and never sets the domain's own agent
// timeout.
//
// Guest agents hang (a frozen guest, a stuck NFS mount under statvfs), so
// each domain is refreshed on a thread of its own, every command with a
// timeout, and no collection cycle waits for a refresh: a snapshot carries
// the values of the last refresh that returned. One refresh per domain runs
// at a time; one that does not return keeps its domain from being asked
// again, not the others.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kv-domstats/collector.hpp"
#include "kv-domstats/guest_agent_data.hpp"

namespace kv::domstats {

struct GuestAgentOptions {
  std::chrono::seconds timeout{2};  // per agent command; libvirt counts in seconds
  std::chrono::milliseconds interval{std::chrono::seconds(60)};  // between refreshes
  std::size_t max_in_flight = 8;  // refreshes running at once, over all domains
};

class GuestAgentPoller {
 public:
  explicit GuestAgentPoller(GuestAgentOptions options);
  ~GuestAgentPoller();
  GuestAgentPoller(const GuestAgentPoller&) = delete;
  GuestAgentPoller& operator=(const GuestAgentPoller&) = delete;

  // Takes in the refreshes that returned, starts those that are due for
  // `domains` (KubeVirt's only), and gives each KubeVirt domain its kept
  // guest values (record.guest) and agent status. Never waits.
  void update(std::vector<DomainResult>& domains);

  // Waits until no refresh is running, or until `deadline`. For --once.
  void wait(std::chrono::steady_clock::time_point deadline);

 private:
  struct Connection;  // a domain's read-write connection
  struct Refresh;     // one refresh in flight, shared with its thread
  struct Domain {
    GuestAgentData data;
    GuestAgentStatus status;
    std::shared_ptr<Connection> connection;
    std::shared_ptr<Refresh> running;
    std::chrono::steady_clock::time_point started{};
    std::chrono::steady_clock::time_point next_due{};
    std::optional<AgentFailure> last_failure;  // to log changes only
    std::string name;                          // the domain's, for the log
  };
  void finish(Domain& domain);
  void start(Domain& domain, const DomainRecord& record);

  GuestAgentOptions options_;
  std::map<std::string, Domain> domains_;  // by source and UUID
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::condition_variable> cv_ = std::make_shared<std::condition_variable>();
};

}  // namespace kv::domstats
