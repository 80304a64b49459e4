// kv-watch's event records (--events, --replay): one JSON object per line,
//   {"type":"ADDED","resource":"kubevirt.io/v1/virtualmachineinstances","object":{...}}
// with type ADDED, MODIFIED or DELETED, as `kubectl get --watch
// --output-watch-events -o json` shows them, plus the resource.
#pragma once
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "kv-watch/object_cache.hpp"
#include "kv-watch/resource_types.hpp"

namespace kv::watch {

void append_event_line(std::string& out, std::string_view resource_id, EventType type,
                       std::string_view object_json);

// Buffers event lines from several informer threads; flushed by size and by
// the main loop's tick so a reader never waits long. Throws std::system_error
// when stdout fails (EPIPE included).
class EventWriter {
 public:
  explicit EventWriter(int fd) : fd_(fd) {}
  void write(std::string_view resource_id, EventType type, std::string_view object_json);
  void flush();

 private:
  std::mutex mu_;
  int fd_;
  std::string buf_;
};

struct ReplayedEvent {
  std::string_view resource;
  EventType type;
  simdjson::dom::element object;
};

// Reads a recording; calls `on_event` for each valid record and logs each
// bad one with its file and line (unless `log_bad` is false). Returns the
// number of bad records. Throws std::runtime_error when the file cannot be
// read.
std::size_t read_event_recording(const std::string& path,
                                 const std::function<void(const ReplayedEvent&)>& on_event, bool log_bad = true);

}  // namespace kv::watch
