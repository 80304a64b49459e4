// One collection cycle over every libvirt source: each source is read on
// its own thread, at most --max-in-flight at once, and the cycle ends at its
// deadline whatever a stuck source is doing.
//
// A read stuck in libvirt (a hung QEMU monitor holds the domain's job) is
// not waited for: the next cycle reads the source again on a second
// connection, where the bulk call's NOWAIT flag skips the busy domain and
// returns the others at once. Only when both connections are stuck does the
// source keep its domains' last good records, marked stale. A source that
// fails is retried with exponential backoff.
//
// Each connection reads its host capabilities once, for the deprecated
// machine types. With events, each source also has a connection for its
// lifecycle events (domain_events.hpp); the crashes they report are taken
// in a cycle at least a second after they came, when libvirt has written
// the panic to the domain log, which is read then.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kv-domstats/dirty_rate_data.hpp"
#include "kv-domstats/domain_events.hpp"
#include "kv-domstats/domain_record.hpp"
#include "kv-domstats/guest_agent_data.hpp"
#include "kv-domstats/libvirt_reader.hpp"
#include "kv-domstats/panics.hpp"

namespace kv::domstats {

struct CollectorOptions {
  std::vector<std::string> uris;
  std::vector<std::string> socket_globs;    // per-VM libvirt sockets
  std::string socket_uri = "qemu+unix:///session?socket={}";  // {} is the path
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  // Readable when kv-domstats is to stop (its signalfd): a cycle then stops
  // waiting for its reads. -1: none.
  int stop_fd = -1;
  std::size_t max_in_flight = 8;
  // Lifecycle events (the panic counter): a connection per source for them,
  // watched by the event loop, which must have been started.
  bool events = false;
  // Where a domain's log is, for the panic information (domain_log_path).
  std::string domain_log = "/var/log/libvirt/qemu/{domain}.log";
};

struct DomainResult {
  DomainRecord record;
  std::int64_t collected_ms;  // when these values were read
  bool stale;                 // read in an earlier cycle: this one's read did not return
  std::optional<GuestAgentStatus> agent;  // with --guest-agent, for KubeVirt's domains
  std::optional<DirtyRateStatus> dirty_rate;  // with --dirty-rate, likewise
};

struct SourceStatus {
  std::string uri;
  bool up = false;          // the last finished read succeeded
  bool stuck = false;       // a read has not returned within the timeout
  bool skipped = false;     // not read this cycle (backoff, or too many in flight)
  std::string error;        // of the last failed read
  double read_seconds = 0;  // duration of the last finished read
  std::uint64_t errors_total = 0;
  std::size_t domains = 0;
  std::optional<bool> events_up;  // with events: registered on an open connection
  std::uint64_t capabilities_errors_total = 0;
  std::uint64_t panic_log_errors_total = 0;  // panics whose domain log could not be read
};

struct CycleResult {
  std::vector<DomainResult> domains;  // by source, then domain name
  std::vector<SourceStatus> sources;  // by URI
  std::vector<PanicRecord> panics;    // crashes taken in this cycle, oldest first
  std::vector<HostRecord> hosts;      // by URI, the sources whose capabilities are known
  double seconds = 0;
};

class Collector {
 public:
  explicit Collector(CollectorOptions options);
  ~Collector();
  CycleResult collect();

 private:
  struct Read;  // one read in flight, shared with its thread
  // A connection of a source, and the read running on it, if any.
  struct Slot {
    std::shared_ptr<LibvirtReader> reader;
    std::shared_ptr<Read> running;
  };
  static constexpr std::size_t kSlotsPerSource = 2;
  struct Source {
    Slot slots[kSlotsPerSource];
    std::vector<DomainRecord> last;
    std::int64_t last_ms = 0;
    SourceStatus status;
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{0};
    std::optional<std::vector<std::string>> deprecated_machine_types;
    std::unique_ptr<EventWatch> events;
    std::chrono::steady_clock::time_point events_next_attempt{};
    std::chrono::milliseconds events_backoff{0};
  };
  std::vector<std::string> current_uris();
  void finish(Source& source, Read& read);
  void start(Slot& slot, const std::string& uri, bool bulk_only);
  // Returns whether it started opening an event connection.
  bool watch_events(const std::string& uri, Source& source, bool may_open);
  void take_panics(CycleResult& result);

  CollectorOptions options_;
  std::vector<std::size_t> glob_matches_;  // sockets each glob matched last
  std::uint64_t cycles_ = 0;
  std::map<std::string, Source> sources_;
  std::shared_ptr<CrashQueue> crashes_ = std::make_shared<CrashQueue>();
  std::shared_ptr<std::mutex> mu_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::condition_variable> cv_ = std::make_shared<std::condition_variable>();
};

}  // namespace kv::domstats
