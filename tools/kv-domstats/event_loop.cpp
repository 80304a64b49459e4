#include "kv-domstats/event_loop.hpp"

#include <libvirt/libvirt.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace kv::domstats::event_loop {

namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_async = false;

struct Handle {
  int watch;
  int fd;
  int events;  // virEventHandleType bits; 0: not watched for now
  virEventHandleCallback cb;
  void* opaque;
  virFreeCallback ff;
  bool deleted = false;
};

struct Timer {
  int id;
  int interval_ms;  // -1: disarmed; 0: fires on every iteration
  Clock::time_point due;
  virEventTimeoutCallback cb;
  void* opaque;
  virFreeCallback ff;
  bool deleted = false;
};

// The loop's state. Never destroyed: libvirt may call in until the process
// ends (kv-domstats exits with _Exit).
struct Loop {
  std::mutex mu;
  std::vector<Handle> handles;
  std::vector<Timer> timers;
  int next_id = 1;
  int wake_fd = -1;
  bool polling = false;  // the loop thread is in poll(2) on the current set
  bool started = false;
};

Loop& loop() {
  static Loop* l = new Loop;
  return *l;
}

// A change to what the loop polls for reaches a loop that is in poll(2)
// only through its wakeup fd. One that is not will rebuild its set anyway.
void wake_locked(Loop& l) {
  if (!l.polling) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(l.wake_fd, &one, sizeof one);
}

int add_handle(int fd, int events, virEventHandleCallback cb, void* opaque, virFreeCallback ff) {
  // Refused: the connection falls back to synchronous I/O (libvirt logs it
  // at debug level and goes on).
  if (!t_async) return -1;
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  int watch = l.next_id++;
  l.handles.push_back({watch, fd, events, cb, opaque, ff});
  wake_locked(l);
  return watch;
}

void update_handle(int watch, int events) {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  for (auto& h : l.handles) {
    if (h.watch == watch && !h.deleted) {
      if (h.events != events) {
        h.events = events;
        wake_locked(l);
      }
      return;
    }
  }
}

int remove_handle(int watch) {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  for (auto& h : l.handles) {
    if (h.watch == watch && !h.deleted) {
      h.deleted = true;  // freed by the loop thread, off libvirt's stack
      wake_locked(l);
      return 0;
    }
  }
  return -1;
}

Clock::time_point due_after(int interval_ms) {
  return Clock::now() + std::chrono::milliseconds(std::max(interval_ms, 0));
}

int add_timeout(int interval_ms, virEventTimeoutCallback cb, void* opaque, virFreeCallback ff) {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  int id = l.next_id++;
  l.timers.push_back({id, interval_ms, due_after(interval_ms), cb, opaque, ff});
  if (interval_ms >= 0) wake_locked(l);
  return id;
}

void update_timeout(int id, int interval_ms) {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  for (auto& t : l.timers) {
    if (t.id == id && !t.deleted) {
      t.interval_ms = interval_ms;
      t.due = due_after(interval_ms);
      if (interval_ms >= 0) wake_locked(l);
      return;
    }
  }
}

int remove_timeout(int id) {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  for (auto& t : l.timers) {
    if (t.id == id && !t.deleted) {
      t.deleted = true;  // freed by the loop thread, which wakes to do it
      wake_locked(l);
      return 0;
    }
  }
  return -1;
}

short to_poll(int events) {
  return static_cast<short>(((events & VIR_EVENT_HANDLE_READABLE) ? POLLIN : 0) |
                            ((events & VIR_EVENT_HANDLE_WRITABLE) ? POLLOUT : 0));
}

int from_poll(short revents) {
  return ((revents & POLLIN) ? VIR_EVENT_HANDLE_READABLE : 0) |
         ((revents & POLLOUT) ? VIR_EVENT_HANDLE_WRITABLE : 0) |
         ((revents & (POLLERR | POLLNVAL)) ? VIR_EVENT_HANDLE_ERROR : 0) |
         ((revents & POLLHUP) ? VIR_EVENT_HANDLE_HANGUP : 0);
}

// One iteration: poll, fire the due timers, dispatch the ready handles,
// free what was removed. Callbacks run without the lock: they call back in.
void run_once(Loop& l) {
  std::vector<pollfd> fds;
  std::vector<int> watches;  // fds[i]'s handle; fds[0] is the wakeup fd
  int timeout_ms = -1;
  {
    std::lock_guard lock(l.mu);
    fds.push_back({l.wake_fd, POLLIN, 0});
    watches.push_back(0);
    for (const auto& h : l.handles) {
      if (h.deleted || h.events == 0) continue;
      fds.push_back({h.fd, to_poll(h.events), 0});
      watches.push_back(h.watch);
    }
    auto now = Clock::now();
    for (const auto& t : l.timers) {
      if (t.deleted || t.interval_ms < 0) continue;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(t.due - now).count();
      int ms = static_cast<int>(std::clamp<std::int64_t>(left, 0, 24 * 3600 * 1000));
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    l.polling = true;
  }
  int n = ::poll(fds.data(), fds.size(), timeout_ms);
  int poll_errno = errno;
  {
    std::lock_guard lock(l.mu);
    l.polling = false;
  }
  if (n < 0 && poll_errno != EINTR) {
    // Not expected (EFAULT, ENOMEM); do not spin on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (n > 0 && (fds[0].revents & POLLIN)) {
    std::uint64_t count;
    [[maybe_unused]] auto r = ::read(l.wake_fd, &count, sizeof count);
  }

  // Timers due now; each is looked up again before it fires, since an
  // earlier callback may have changed it.
  auto now = Clock::now();
  std::vector<int> due;
  {
    std::lock_guard lock(l.mu);
    for (const auto& t : l.timers)
      if (!t.deleted && t.interval_ms >= 0 && t.due <= now) due.push_back(t.id);
  }
  for (int id : due) {
    virEventTimeoutCallback cb = nullptr;
    void* opaque = nullptr;
    {
      std::lock_guard lock(l.mu);
      for (auto& t : l.timers) {
        if (t.id == id && !t.deleted && t.interval_ms >= 0 && t.due <= now) {
          t.due = now + std::chrono::milliseconds(t.interval_ms);
          cb = t.cb;
          opaque = t.opaque;
        }
      }
    }
    if (cb) cb(id, opaque);
  }

  for (std::size_t i = 1; n > 0 && i < fds.size(); ++i) {
    if (!fds[i].revents) continue;
    virEventHandleCallback cb = nullptr;
    void* opaque = nullptr;
    int fd = fds[i].fd, events = 0;
    {
      std::lock_guard lock(l.mu);
      for (auto& h : l.handles) {
        // Still watched for what it was polled for (an RPC may have taken
        // the socket off the loop meanwhile).
        if (h.watch == watches[i] && !h.deleted && h.events != 0) {
          cb = h.cb;
          opaque = h.opaque;
          events = from_poll(fds[i].revents) &
                   (h.events | VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP);
        }
      }
    }
    if (cb && events) cb(watches[i], fd, events, opaque);
  }

  std::vector<std::pair<virFreeCallback, void*>> frees;
  {
    std::lock_guard lock(l.mu);
    std::erase_if(l.handles, [&](const Handle& h) {
      if (h.deleted && h.ff) frees.emplace_back(h.ff, h.opaque);
      return h.deleted;
    });
    std::erase_if(l.timers, [&](const Timer& t) {
      if (t.deleted && t.ff) frees.emplace_back(t.ff, t.opaque);
      return t.deleted;
    });
  }
  for (auto& [ff, opaque] : frees) ff(opaque);
}

}  // namespace

void start() {
  Loop& l = loop();
  {
    std::lock_guard lock(l.mu);
    if (l.started) return;
    l.started = true;
    l.wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  virEventRegisterImpl(add_handle, update_handle, remove_handle, add_timeout, update_timeout,
                       remove_timeout);
  std::thread([&l] {
    for (;;) run_once(l);
  }).detach();
}

bool started() {
  Loop& l = loop();
  std::lock_guard lock(l.mu);
  return l.started;
}

AsyncConnections::AsyncConnections() : previous_(t_async) { t_async = true; }
AsyncConnections::~AsyncConnections() { t_async = previous_; }

}  // namespace kv::domstats::event_loop
