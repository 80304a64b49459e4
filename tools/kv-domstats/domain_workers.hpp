// Per-domain work on a read-write connection, off the bulk stats path: the
// guest agent (--guest-agent) and the dirty rate (--dirty-rate).
//
// libvirt refuses agent commands and dirty-rate calculations on a
// read-only connection, so these open a read-write connection per KubeVirt
// domain, only when one of the options is given. One per domain, not per
// source: on a shared connection a call to a hung agent held up the calls
// to other domains' agents by seconds (libvirt 9.0's client, measured).
//
// Guest agents hang and QEMU monitors get stuck, so each domain is
// refreshed on a thread of its own, and no collection cycle waits for a
// refresh: a snapshot carries what the domain's last finished refresh got.
// A refresh runs every task that is due for the domain, one after the
// other. One refresh per domain runs at a time, at most max_in_flight over
// all domains; one that does not return keeps its domain from being
// refreshed again, not the others.
#pragma once

#include <libvirt/libvirt.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kv-domstats/collector.hpp"

namespace kv::domstats {

// What one kind of work keeps per domain between refreshes, and what one
// run of it got; each task defines its own.
struct TaskState {
  virtual ~TaskState() = default;
};
struct TaskResult {
  virtual ~TaskResult() = default;
};

// Why a refresh could not reach the domain before any task ran.
struct Unreachable {
  bool connection = false;  // the read-write connection could not be opened
  int libvirt_code = 0;     // else the domain lookup's virErrorNumber
  std::string error;
  std::chrono::milliseconds took{0};
};

// One kind of per-domain work. Its methods but run() and unreachable() are
// called with the workers' lock held and must not block.
class DomainTask {
 public:
  virtual ~DomainTask() = default;
  virtual std::unique_ptr<TaskState> new_state() const = 0;
  // Whether the domain is to be worked on this cycle (say, not while it
  // migrates). Not wanted: unwanted() is called and no run starts.
  virtual bool wanted(const DomainRecord&) const { return true; }
  virtual void unwanted(TaskState&) const {}
  // On the refresh thread, with the domain looked up on its connection.
  virtual std::unique_ptr<TaskResult> run(virDomainPtr dom) const = 0;
  virtual std::unique_ptr<TaskResult> unreachable(const Unreachable& why) const = 0;
  // Takes a finished run in; returns how long after the run's start the
  // task is due again for this domain.
  virtual std::chrono::milliseconds apply(TaskState& state, const TaskResult& result,
                                          const std::string& domain, std::int64_t now_ms) const = 0;
  // Gives one cycle's result the kept values and status. `running_for`:
  // how long a run of this task has been going, if one is.
  virtual void fill(const TaskState& state, DomainResult& result,
                    std::optional<std::chrono::steady_clock::duration> running_for) const = 0;
  // How long --once waits for a run that it started.
  virtual std::chrono::milliseconds once_wait() const = 0;
};

class DomainWorkers {
 public:
  DomainWorkers(std::vector<std::shared_ptr<const DomainTask>> tasks, std::size_t max_in_flight);
  ~DomainWorkers();
  DomainWorkers(const DomainWorkers&) = delete;
  DomainWorkers& operator=(const DomainWorkers&) = delete;

  // Takes in the refreshes that returned, starts those that are due for
  // `domains` (KubeVirt's only), and gives each KubeVirt domain its kept
  // values and statuses. Never waits.
  void update(std::vector<DomainResult>& domains);

  // Waits until no refresh is running, or until `deadline`. For --once.
  void wait(std::chrono::steady_clock::time_point deadline);

  // The longest once_wait() of the tasks.
  std::chrono::milliseconds once_wait() const;

 private:
  struct Connection;  // a domain's read-write connection
  struct Refresh;     // one refresh in flight, shared with its thread
  struct Domain {
    std::vector<std::unique_ptr<TaskState>> states;  // by task
    std::vector<std::chrono::steady_clock::time_point> next_due;
    std::shared_ptr<Connection> connection;
    std::shared_ptr<Refresh> running;
    std::string name;  // the domain's, for the log
  };
  void finish(Domain& domain);
  void start(Domain& domain, const DomainRecord& record, std::vector<std::size_t> tasks);

  std::vector<std::shared_ptr<const DomainTask>> tasks_;  // shared with running refreshes
  std::size_t max_in_flight_;
  std::map<std::string, Domain> domains_;  // by source and UUID
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::condition_variable> cv_ = std::make_shared<std::condition_variable>();
};

}  // namespace kv::domstats
