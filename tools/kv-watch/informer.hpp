// One resource's informer: LIST in pages, then WATCH from the list's
// resourceVersion, forever; a cache that survives outages; relists after
// 410 Gone that find deletes missed in the gap. The client-go pattern,
// without client-go.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube_client.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/resource_types.hpp"
#include "kv-watch/sharding.hpp"

namespace kv::watch {

// Wakes sleeping informers at shutdown.
class StopSignal {
 public:
  void request();
  bool requested() const { return flag_.load(); }
  // Sleeps up to `d`; true when stop was requested.
  bool wait_for(std::chrono::milliseconds d);
  const std::atomic<bool>* flag() const { return &flag_; }

 private:
  std::atomic<bool> flag_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

struct InformerSettings {
  std::string ns;  // "" for all namespaces; ignored for a cluster-scoped resource
  std::string label_selector;
  std::string field_selector;
  std::size_t page_size = 500;
  std::chrono::seconds watch_timeout{300};  // asked of the server, jittered up to 2x
  KubeRequestLimits limits;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  bool list_only = false;  // --once: no watch
  Sharding sharding;       // objects of other shards are not cached
};

// Why a watch ended, for kv_watch_watch_restarts_total{reason}.
#define KV_WATCH_RESTART_REASONS(X)                                              \
  X(timeout, "the server closed the stream (its timeout)")                       \
  X(expired, "410 Gone: the resourceVersion is too old, so a relist follows")    \
  X(broken, "the connection failed or broke off")                                \
  X(hung, "no answer within --request-timeout")                                  \
  X(malformed, "an event that is not valid JSON or not an event")                \
  X(throttled, "429 Too Many Requests")                                          \
  X(server_error, "5xx")                                                         \
  X(unauthorized, "401: the token is read again")                                \
  X(forbidden, "403")                                                            \
  X(error_event, "an ERROR event other than 410")                                \
  X(other_status, "another HTTP status")

enum class RestartReason {
#define X(name, why) name,
  KV_WATCH_RESTART_REASONS(X)
#undef X
};
inline constexpr std::size_t kRestartReasons = 0
#define X(name, why) +1
    KV_WATCH_RESTART_REASONS(X)
#undef X
    ;
std::string_view restart_reason_name(RestartReason r);

// Counters read by the self-metrics while the informer runs.
struct InformerStats {
  std::atomic<std::uint64_t> lists{0};
  std::atomic<std::uint64_t> relists{0};
  std::atomic<std::uint64_t> list_failures{0};
  std::array<std::atomic<std::uint64_t>, kRestartReasons> restarts{};
  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR as received from watches.
  std::array<std::atomic<std::uint64_t>, 5> events{};
  std::atomic<std::int64_t> last_contact_ms{0};
  std::atomic<bool> synced{false};
};
inline constexpr std::array<std::string_view, 5> kWatchEventTypes{"ADDED", "MODIFIED", "DELETED",
                                                                  "BOOKMARK", "ERROR"};

// Told about every change of the cache; `object` is the object's JSON when
// the informer was asked for objects, else the cached pruned copy.
using ChangeHandler =
    std::function<void(const ResourceType& type, EventType event, std::string_view object)>;

class Informer {
 public:
  // `observer` is told of the cached objects' updates (object_cache.hpp).
  Informer(ResourceType type, InformerSettings settings, const KubeAccess& access,
           std::shared_ptr<BearerToken> token, FieldSelection fields, ChangeHandler on_change,
           bool want_objects, StopSignal& stop, std::shared_ptr<UpdateObserver> observer = nullptr);
  ~Informer();
  void start();
  void join();

  const ResourceType& type() const { return type_; }
  // The namespace watched, "" for all (or a cluster-scoped resource).
  const std::string& ns() const { return ns_; }
  const ObjectCache& cache() const { return cache_; }
  const InformerStats& stats() const { return stats_; }
  // Set once the first list finished (and, with list_only, when it ended).
  bool synced() const { return stats_.synced.load(); }
  bool finished() const { return finished_.load(); }
  bool failed() const { return failed_.load(); }

 private:
  enum class ListResult { ok, retry_later, stopped };
  void run();
  ListResult list(std::chrono::milliseconds& wait);
  RestartReason watch();
  std::chrono::milliseconds next_backoff();
  std::string query(bool watch, const std::string& continue_token) const;
  bool handle_event(std::string_view line, RestartReason& end);
  RestartReason classify_failure(const KubeResponse& r, std::chrono::milliseconds& wait);
  void emit(EventType event, simdjson::dom::element object);
  std::string object_json(simdjson::dom::element object) const;
  void contact();
  bool in_shard(simdjson::dom::element object) const;

  ResourceType type_;
  InformerSettings settings_;
  std::string ns_;
  std::string name_;  // in log lines: the resource, and the namespace if one
  const KubeAccess& access_;
  std::shared_ptr<BearerToken> token_;
  ObjectCache cache_;
  ChangeHandler on_change_;
  bool want_objects_;
  StopSignal& stop_;
  InformerStats stats_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> failed_{false};

  std::unique_ptr<KubeSession> session_;
  simdjson::dom::parser parser_;
  std::string resource_version_;
  unsigned attempt_ = 0;
  std::string last_error_;  // logged once per distinct message
};

}  // namespace kv::watch
