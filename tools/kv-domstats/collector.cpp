#include "kv-domstats/collector.hpp"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "clock.hpp"
#include "process.hpp"

namespace kv::domstats {

using Clock = std::chrono::steady_clock;

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{60000};
// How often a cycle waiting for its reads looks for a stop signal.
constexpr std::chrono::milliseconds kStopCheck{100};
}  // namespace

// Crashes are taken this long after they came: libvirt writes the panic to
// the domain log just after it sends the event.
constexpr std::chrono::milliseconds kPanicLogGrace{1000};

struct Collector::Read {
  bool done = false;
  LibvirtReader::Result result;
  std::string error;
  double seconds = 0;
};

Collector::Collector(CollectorOptions options) : options_(std::move(options)) {}

// Reads still running hold their own references; nothing waits for them.
Collector::~Collector() = default;

std::vector<std::string> Collector::current_uris() {
  std::vector<std::string> uris = options_.uris;
  glob_matches_.resize(options_.socket_globs.size());
  for (std::size_t k = 0; k < options_.socket_globs.size(); ++k) {
    const std::string& pattern = options_.socket_globs[k];
    std::size_t matches = 0;
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) {
        // Only sockets: a launcher's directory also holds pid files and
        // directories, which would be sources that never answer.
        struct stat st{};
        if (::stat(g.gl_pathv[i], &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        std::string uri = options_.socket_uri;
        if (auto at = uri.find("{}"); at != std::string::npos) uri.replace(at, 2, g.gl_pathv[i]);
        uris.push_back(uri);
        ++matches;
      }
    }
    globfree(&g);
    // Said when it changes: a pattern with a typo shows at start, and a node
    // without VMs does not fill the log.
    if (matches != glob_matches_[k] || cycles_ == 0)
      spdlog::info("--socket-glob {}: {} socket{}", pattern, matches, matches == 1 ? "" : "s");
    glob_matches_[k] = matches;
  }
  std::sort(uris.begin(), uris.end());
  uris.erase(std::unique(uris.begin(), uris.end()), uris.end());
  return uris;
}

void Collector::finish(Source& source, Read& read) {
  SourceStatus& st = source.status;
  st.read_seconds = read.seconds;
  if (!read.result.capabilities_error.empty()) {
    ++st.capabilities_errors_total;
    spdlog::warn("{}", read.result.capabilities_error);
  }
  if (read.result.deprecated_machine_types)
    source.deprecated_machine_types = std::move(read.result.deprecated_machine_types);
  if (read.error.empty()) {
    spdlog::debug("{}: {} domains in {:.1f} ms, the XML of {} read", st.uri,
                  read.result.records.size(), read.seconds * 1e3, read.result.xml_reads);
    st.up = true;
    st.error.clear();
    source.last = std::move(read.result.records);
    source.last_ms = now_ms();
    source.backoff = std::chrono::milliseconds(0);
  } else {
    st.up = false;
    st.error = read.error;
    ++st.errors_total;
    source.last.clear();  // a source that cannot be read has no domains to show
    source.backoff = std::min(kMaxBackoff, source.backoff.count() ? source.backoff * 2 : kFirstBackoff);
    source.next_attempt = Clock::now() + source.backoff;
  }
}

void Collector::start(Slot& slot, const std::string& uri, bool bulk_only) {
  if (!slot.reader) slot.reader = std::make_shared<LibvirtReader>(uri);
  auto read = std::make_shared<Read>();
  slot.running = read;
  std::thread([read, reader = slot.reader, bulk_only, mu = mu_, cv = cv_] {
    auto t0 = Clock::now();
    LibvirtReader::Result result;
    std::string error;
    try {
      result = reader->read(bulk_only);
    } catch (const std::exception& e) {
      error = e.what();
    }
    std::lock_guard done_lock(*mu);
    read->result = std::move(result);
    read->error = std::move(error);
    read->seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    read->done = true;
    cv->notify_all();
  }).detach();
}

bool Collector::watch_events(const std::string& uri, Source& s, bool may_open) {
  auto now = Clock::now();
  if (s.events && s.events->state() == EventWatch::State::down) {
    if (auto error = s.events->error(); !error.empty()) spdlog::warn("{}", error);
    s.events_backoff = std::min(kMaxBackoff, s.events_backoff.count() ? s.events_backoff * 2
                                                                      : kFirstBackoff);
    s.events_next_attempt = now + s.events_backoff;
    s.events.reset();  // closes it, on a thread of its own
  }
  if (s.events && s.events->state() == EventWatch::State::up)
    s.events_backoff = std::chrono::milliseconds(0);
  bool opened = false;
  if (!s.events && now >= s.events_next_attempt && may_open) {
    s.events = std::make_unique<EventWatch>(uri, crashes_);
    // Its coming up or down ends a cycle's wait like a read's return.
    s.events->open([mu = mu_, cv = cv_] {
      std::lock_guard lock(*mu);
      cv->notify_all();
    });
    opened = true;
  }
  return opened;
}

void Collector::take_panics(CycleResult& result) {
  for (auto& crash : crashes_->take(Clock::now() - kPanicLogGrace)) {
    PanicRecord p{crash.source, crash.domain, crash.uuid, crash.id, crash.detail, std::nullopt};
    std::string path = domain_log_path(options_.domain_log, crash.source, crash.domain);
    try {
      p.info = read_panic_line(path);
    } catch (const std::runtime_error& e) {
      spdlog::warn("{}: guest panic: no panic information from the domain log: {}", crash.domain,
                   e.what());
      if (auto it = sources_.find(crash.source); it != sources_.end())
        ++it->second.status.panic_log_errors_total;
    }
    spdlog::info("{}: guest {} ({})", crash.domain,
                 crash.detail == PanicDetail::panicked ? "panicked" : "crashed, crash kernel loaded",
                 p.info ? *p.info : "no panic information");
    result.panics.push_back(std::move(p));
  }
}

CycleResult Collector::collect() {
  auto begin = Clock::now();
  auto deadline = begin + options_.timeout;

  // Sources come and go with their sockets; a vanished one is forgotten
  // (a read still running keeps its reader alive until it returns).
  std::vector<std::string> uris = current_uris();
  for (auto it = sources_.begin(); it != sources_.end();)
    it = std::binary_search(uris.begin(), uris.end(), it->first) ? std::next(it) : sources_.erase(it);
  for (const auto& uri : uris)
    if (!sources_.count(uri)) sources_[uri].status.uri = uri;

  std::vector<const EventWatch*> events_opened;
  if (options_.events) {
    // Opened while the reads run. At most --max-in-flight per cycle, as
    // for reads: many per-VM sockets appear at once when kv-domstats starts.
    for (auto& [uri, s] : sources_)
      if (watch_events(uri, s, events_opened.size() < options_.max_in_flight))
        events_opened.push_back(s.events.get());
  }

  std::unique_lock lock(*mu_);
  std::size_t in_flight = 0;
  for (auto& [uri, s] : sources_)
    for (auto& slot : s.slots) in_flight += slot.running != nullptr;
  std::vector<std::shared_ptr<Read>> started;
  for (auto& [uri, s] : sources_) {
    s.status.skipped = false;
    Slot* idle = nullptr;
    bool busy = false;  // another read of this source has not returned
    for (auto& slot : s.slots) {
      if (slot.running) busy = true;
      else if (!idle) idle = &slot;
    }
    if (!idle || begin < s.next_attempt || in_flight >= options_.max_in_flight) {
      s.status.skipped = true;
      continue;
    }
    start(*idle, uri, busy);
    started.push_back(idle->running);
    ++in_flight;
  }

  // Wait for this cycle's reads, and for the event connections it opened,
  // so that the first snapshot does not call them down; earlier reads that
  // return meanwhile count too. A stop signal ends the wait: nothing waits
  // for a stuck libvirt.
  auto all_done = [&] {
    return std::all_of(started.begin(), started.end(), [](const auto& r) { return r->done; }) &&
           std::none_of(events_opened.begin(), events_opened.end(), [](const EventWatch* w) {
             return w->state() == EventWatch::State::opening;
           });
  };
  while (!cv_->wait_until(lock, std::min(deadline, Clock::now() + kStopCheck), all_done) &&
         Clock::now() < deadline && !signal_pending(options_.stop_fd)) {
  }
  CycleResult result;
  for (auto& [uri, s] : sources_) {
    // The read started last is the freshest: apply the others first.
    bool any_running = false;
    std::vector<Slot*> done;
    for (auto& slot : s.slots) {
      if (slot.running && slot.running->done) done.push_back(&slot);
      else if (slot.running) any_running = true;
    }
    bool fresh = false;
    for (Slot* slot : done) {
      bool this_cycle = std::find(started.begin(), started.end(), slot->running) != started.end();
      if (!this_cycle) finish(s, *slot->running);
    }
    for (Slot* slot : done) {
      bool this_cycle = std::find(started.begin(), started.end(), slot->running) != started.end();
      if (this_cycle) {
        finish(s, *slot->running);
        fresh = true;
      }
      slot->running.reset();
    }
    s.status.stuck = any_running;
    bool stale = !fresh && any_running;
    for (const auto& r : s.last) result.domains.push_back({r, s.last_ms, stale, std::nullopt, std::nullopt});
    s.status.domains = s.last.size();
    if (s.deprecated_machine_types) result.hosts.push_back({uri, *s.deprecated_machine_types});
  }
  lock.unlock();
  if (options_.events) {
    for (auto& [uri, s] : sources_)
      s.status.events_up = s.events && s.events->state() == EventWatch::State::up;
    take_panics(result);
  }
  for (auto& [uri, s] : sources_) result.sources.push_back(s.status);
  result.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  ++cycles_;
  spdlog::debug("cycle {}: {} domains from {} sources in {:.1f} ms", cycles_, result.domains.size(),
                result.sources.size(), result.seconds * 1e3);
  return result;
}

}  // namespace kv::domstats
