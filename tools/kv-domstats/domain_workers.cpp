#include "kv-domstats/domain_workers.hpp"

#include <libvirt/virterror.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <thread>

#include "clock.hpp"
#include "kv-domstats/domain_metrics.hpp"
#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

using Clock = std::chrono::steady_clock;

namespace {

std::string domain_key(const DomainRecord& r) { return r.source + "\n" + r.uuid; }

}  // namespace

// One refresh: the tasks it runs, and, filled in by its thread under the
// lock, when each started and what it got.
struct DomainWorkers::Refresh {
  struct Run {
    std::size_t task;
    std::optional<Clock::time_point> started;
    std::unique_ptr<TaskResult> result;  // set when it finished
  };
  std::vector<Run> runs;
  Clock::time_point started;
  bool done = false;
};

// The read-write connection of one domain, opened by its first refresh and
// used by one refresh at a time.
struct DomainWorkers::Connection {
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

  const std::string uri;
  virConnectPtr conn = nullptr;
};

DomainWorkers::DomainWorkers(std::vector<std::shared_ptr<const DomainTask>> tasks,
                             std::size_t max_in_flight)
    : tasks_(std::move(tasks)), max_in_flight_(max_in_flight) {}

// Refreshes still running hold their own references; nothing waits for them.
DomainWorkers::~DomainWorkers() = default;

std::chrono::milliseconds DomainWorkers::once_wait() const {
  std::chrono::milliseconds longest{0};
  for (const auto& t : tasks_) longest = std::max(longest, t->once_wait());
  return longest;
}

void DomainWorkers::finish(Domain& d) {
  std::int64_t now = now_ms();
  for (auto& run : d.running->runs) {
    if (!run.result) continue;  // cannot happen once done; be safe
    auto after = tasks_[run.task]->apply(*d.states[run.task], *run.result, d.name, now);
    d.next_due[run.task] = d.running->started + after;
  }
  d.running.reset();
}

void DomainWorkers::start(Domain& d, const DomainRecord& record, std::vector<std::size_t> due) {
  if (!d.connection) d.connection = std::make_shared<Connection>(record.source);
  auto refresh = std::make_shared<Refresh>();
  refresh->started = Clock::now();
  for (std::size_t t : due) refresh->runs.push_back({t, std::nullopt, nullptr});
  // The first task waits for the connection and the lookup too.
  refresh->runs.front().started = refresh->started;
  d.running = refresh;
  d.name = record.name;
  std::thread([refresh, tasks = tasks_, conn = d.connection, uuid = record.uuid, mu = mu_, cv = cv_] {
    auto mark_started = [&](std::size_t i) {
      std::lock_guard lock(*mu);
      refresh->runs[i].started = Clock::now();
    };
    std::vector<std::unique_ptr<TaskResult>> results(refresh->runs.size());
    std::optional<Unreachable> unreachable;
    auto begin = Clock::now();
    try {
      conn->open();
    } catch (const std::runtime_error& e) {
      unreachable = Unreachable{true, 0, e.what(), {}};
    }
    std::unique_ptr<virDomain, int (*)(virDomainPtr)> dom(nullptr, virDomainFree);
    if (!unreachable) {
      dom.reset(virDomainLookupByUUIDString(conn->conn, uuid.c_str()));
      if (!dom)
        unreachable = Unreachable{
            false, virGetLastErrorCode(), libvirt_error(),
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin)};
    }
    for (std::size_t i = 0; i < refresh->runs.size(); ++i) {
      if (i > 0) mark_started(i);
      const DomainTask& task = *tasks[refresh->runs[i].task];
      results[i] = unreachable ? task.unreachable(*unreachable) : task.run(dom.get());
      std::lock_guard lock(*mu);
      refresh->runs[i].result = std::move(results[i]);
    }
    std::lock_guard done_lock(*mu);
    refresh->done = true;
    cv->notify_all();
  }).detach();
}

void DomainWorkers::update(std::vector<DomainResult>& domains) {
  auto now = Clock::now();
  std::lock_guard lock(*mu_);
  for (auto& [key, d] : domains_)
    if (d.running && d.running->done) finish(d);

  // Domains that are gone are forgotten, with their connections; a refresh
  // still running keeps what it uses until it returns.
  std::set<std::string> keys;
  for (const auto& d : domains)
    if (kubevirt_identity(d.record.name)) keys.insert(domain_key(d.record));
  std::erase_if(domains_, [&](const auto& entry) { return !keys.count(entry.first); });

  std::size_t in_flight = 0;
  for (const auto& [key, d] : domains_) in_flight += d.running != nullptr;
  for (auto& result : domains) {
    const DomainRecord& r = result.record;
    if (!kubevirt_identity(r.name)) continue;
    Domain& d = domains_[domain_key(r)];
    if (d.states.empty()) {
      for (const auto& t : tasks_) d.states.push_back(t->new_state());
      d.next_due.assign(tasks_.size(), Clock::time_point{});
    }
    std::vector<std::size_t> due;
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      if (!tasks_[t]->wanted(r)) tasks_[t]->unwanted(*d.states[t]);
      else if (now >= d.next_due[t]) due.push_back(t);
    }
    if (!d.running && !due.empty() && in_flight < max_in_flight_) {
      start(d, r, std::move(due));
      ++in_flight;
    }
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      std::optional<Clock::duration> running_for;
      if (d.running) {
        for (const auto& run : d.running->runs)
          if (run.task == t && run.started && !run.result) running_for = now - *run.started;
      }
      if (tasks_[t]->wanted(r)) tasks_[t]->fill(*d.states[t], result, running_for);
    }
  }
}

void DomainWorkers::wait(Clock::time_point deadline) {
  std::unique_lock lock(*mu_);
  cv_->wait_until(lock, deadline, [&] {
    return std::none_of(domains_.begin(), domains_.end(), [](const auto& entry) {
      return entry.second.running && !entry.second.running->done;
    });
  });
}

}  // namespace kv::domstats
