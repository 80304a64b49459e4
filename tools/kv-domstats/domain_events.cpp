#include "kv-domstats/domain_events.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <thread>

#include "kv-domstats/event_loop.hpp"
#include "kv-domstats/libvirt_reader.hpp"

namespace kv::domstats {

namespace {

// Keepalive of the event connection: a ping after 10 s without traffic,
// the connection closed after 3 unanswered ones.
constexpr int kKeepaliveInterval = 10;
constexpr unsigned kKeepaliveCount = 3;

}  // namespace

void CrashQueue::push(CrashEvent event) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(event));
}

std::vector<CrashEvent> CrashQueue::take(std::chrono::steady_clock::time_point before) {
  std::lock_guard lock(mu_);
  std::vector<CrashEvent> out;
  auto keep = std::stable_partition(events_.begin(), events_.end(),
                                    [&](const CrashEvent& e) { return e.received >= before; });
  out.assign(std::make_move_iterator(keep), std::make_move_iterator(events_.end()));
  events_.erase(keep, events_.end());
  return out;
}

struct EventWatch::Shared {
  Shared(std::string u, std::shared_ptr<CrashQueue> q) : uri(std::move(u)), queue(std::move(q)) {}
  const std::string uri;
  const std::shared_ptr<CrashQueue> queue;
  mutable std::mutex mu;
  State state = State::opening;
  std::string error;
  virConnectPtr conn = nullptr;
  int callback = -1;
  bool closing = false;  // the watch was dropped: close as soon as opened
};

namespace {

// libvirt's callbacks hold a reference of their own, which libvirt frees.
void free_ref(void* opaque) { delete static_cast<std::shared_ptr<EventWatch::Shared>*>(opaque); }

// Deregisters and closes on a thread of its own: the calls are RPCs, which
// a hung daemon would not answer.
void close_async(virConnectPtr conn, int callback, virConnectCloseFunc on_close) {
  if (!conn) return;
  std::thread([conn, callback, on_close] {
    if (callback >= 0) virConnectDomainEventDeregisterAny(conn, callback);
    virConnectUnregisterCloseCallback(conn, on_close);
    virConnectClose(conn);
  }).detach();
}

}  // namespace

// On the event loop thread.
static void on_close(virConnectPtr conn, int reason, void* opaque) {
  auto& shared = *static_cast<std::shared_ptr<EventWatch::Shared>*>(opaque);
  std::lock_guard lock(shared->mu);
  if (shared->conn != conn || shared->state != EventWatch::State::up) return;
  shared->state = EventWatch::State::down;
  switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_EOF: shared->error = "the daemon closed the connection"; break;
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: shared->error = "the daemon stopped answering (keepalive)"; break;
    case VIR_CONNECT_CLOSE_REASON_ERROR: shared->error = "the connection failed"; break;
    default: shared->error = "the connection was closed"; break;
  }
  shared->error = shared->uri + ": lifecycle events: " + shared->error;
}

// On the event loop thread: queue, nothing more.
static int on_lifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  if (event != VIR_DOMAIN_EVENT_CRASHED) return 0;
  auto& shared = *static_cast<std::shared_ptr<EventWatch::Shared>*>(opaque);
  CrashEvent e;
  e.source = shared->uri;
  if (const char* name = virDomainGetName(dom)) e.domain = name;
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(dom, uuid) == 0) e.uuid = uuid;
  e.id = static_cast<std::int64_t>(static_cast<int>(virDomainGetID(dom)));
  e.detail = detail == VIR_DOMAIN_EVENT_CRASHED_CRASHLOADED ? PanicDetail::crashloaded
                                                             : PanicDetail::panicked;
  e.received = std::chrono::steady_clock::now();
  shared->queue->push(std::move(e));
  return 0;
}

EventWatch::EventWatch(std::string uri, std::shared_ptr<CrashQueue> queue)
    : shared_(std::make_shared<Shared>(std::move(uri), std::move(queue))) {}

EventWatch::~EventWatch() {
  std::lock_guard lock(shared_->mu);
  shared_->closing = true;
  shared_->state = State::down;
  close_async(std::exchange(shared_->conn, nullptr), shared_->callback, on_close);
}

void EventWatch::open(std::function<void()> settled) {
  std::thread([shared = shared_, settled = std::move(settled)] {
    open_connection(shared);
    if (settled) settled();
  }).detach();
}

void EventWatch::open_connection(const std::shared_ptr<Shared>& shared) {
  virConnectPtr conn;
  {
    event_loop::AsyncConnections async;
    conn = virConnectOpenReadOnly(shared->uri.c_str());
  }
  std::string error;
  int callback = -1;
  if (!conn) {
    error = "cannot connect to " + shared->uri + " for lifecycle events: " + libvirt_error();
  } else {
    // Without keepalive the events still flow; only a hung daemon goes
    // unnoticed.
    virConnectSetKeepAlive(conn, kKeepaliveInterval, kKeepaliveCount);
    virConnectRegisterCloseCallback(conn, on_close, new std::shared_ptr<Shared>(shared),
                                    free_ref);
    callback = virConnectDomainEventRegisterAny(
        conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle),
        new std::shared_ptr<Shared>(shared), free_ref);
    if (callback < 0)
      error = "cannot register for lifecycle events on " + shared->uri + ": " + libvirt_error();
  }
  std::lock_guard lock(shared->mu);
  if (!error.empty() || shared->closing) {
    shared->state = State::down;
    shared->error = error;
    close_async(conn, callback, on_close);
    return;
  }
  shared->conn = conn;
  shared->callback = callback;
  shared->state = State::up;
  shared->error.clear();
  // Closed before the close callback could match it to this watch.
  if (virConnectIsAlive(conn) != 1) {
    shared->state = State::down;
    shared->error = shared->uri + ": lifecycle events: the connection was closed";
  }
}

EventWatch::State EventWatch::state() const {
  std::lock_guard lock(shared_->mu);
  return shared_->state;
}

std::string EventWatch::error() const {
  std::lock_guard lock(shared_->mu);
  return shared_->error;
}

}  // namespace kv::domstats
