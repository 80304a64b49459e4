// Lifecycle events of one libvirt source, for the guest panic counter
// (--interval only: a one-shot run would see only panics that happen
// during its second).
//
// Each source gets a read-only connection of its own for its events, opened
// inside event_loop::AsyncConnections so that the event loop watches its
// socket, while the stats connections stay synchronous (see event_loop.hpp).
// It makes no call but the registrations, so a domain stuck in a stats call
// never holds it up. libvirt calls back on the event loop thread, which
// only queues the crash; the domain log is read later, by the collector.
//
// Keepalive is on for this connection (10 s, 3 missed answers): a daemon
// that stops answering altogether (stopped, or its event loop hung) gets
// the connection closed after about 40 s, reported by
// kv_domstats_source_events_up, and reopened with backoff. Events the
// daemon sends while no connection is registered are lost. The stats
// connections have no keepalive (it needs the event loop): a hung daemon
// leaves their reads stuck, reported by kv_domstats_source_stuck, as
// before.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kv-domstats/panics.hpp"

namespace kv::domstats {

// A crash as the event loop thread queues it, before its log is read.
struct CrashEvent {
  std::string source;
  std::string domain;
  std::string uuid;
  std::int64_t id = -1;
  PanicDetail detail = PanicDetail::panicked;
  std::chrono::steady_clock::time_point received;
};

class CrashQueue {
 public:
  void push(CrashEvent event);
  // Takes the events received before `before`, oldest first.
  std::vector<CrashEvent> take(std::chrono::steady_clock::time_point before);

 private:
  std::mutex mu_;
  std::vector<CrashEvent> events_;
};

// The lifecycle-event connection of one source. Nothing here blocks: the
// connection is opened and closed on threads of its own.
class EventWatch {
 public:
  enum class State { opening, up, down };
  EventWatch(std::string uri, std::shared_ptr<CrashQueue> queue);
  // Closes the connection (on a thread) if close() has not.
  ~EventWatch();
  EventWatch(const EventWatch&) = delete;
  EventWatch& operator=(const EventWatch&) = delete;

  // Opens it on a thread of its own; `settled` is called there once it is
  // up or down (with no lock of this watch held).
  void open(std::function<void()> settled = {});
  State state() const;
  std::string error() const;  // why it is down

  struct Shared;  // with the opening thread and libvirt's callbacks

 private:
  static void open_connection(const std::shared_ptr<Shared>& shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace kv::domstats
