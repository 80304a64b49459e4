// What kv-watch remembers of each object: its key, its resourceVersion and a
// pruned copy holding only the fields the metrics need, never the raw JSON.
#pragma once
#include <simdjson.h>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kv::watch {

enum class EventType { added, modified, deleted };
std::string_view event_type_name(EventType t);  // "ADDED", "MODIFIED", "DELETED"
std::optional<EventType> parse_event_type(std::string_view name);

// The fields to keep, as dotted paths ("metadata.labels", "status.phase");
// a path keeps its whole subtree, and lists on the way are kept element by
// element ("status.interfaces.ipAddress" keeps that field of each one).
class FieldSelection {
 public:
  FieldSelection();  // metadata.name, .namespace, .uid, .resourceVersion
  explicit FieldSelection(const std::vector<std::string>& paths);
  void add(std::string_view dotted_path);
  // Appends the pruned copy of `value` as compact JSON.
  void prune(simdjson::dom::element value, std::string& out) const;

 private:
  struct Node {
    bool whole = false;
    std::map<std::string, Node, std::less<>> children;
  };
  static void prune(const Node& node, simdjson::dom::element value, std::string& out);
  Node root_;
};

// "namespace/name", or "name" for cluster-scoped objects; empty if the
// object has no metadata.name.
std::string object_key(simdjson::dom::element object);
std::string_view object_resource_version(simdjson::dom::element object);

// Told of every new version of an object the cache holds: what an
// informer's update handler sees (client-go's OnUpdate with the old and the
// new object). Objects first cached (the initial list, an ADDED, a MODIFIED
// of an object not cached, a relist's new objects) are not updates.
//
// The cache keeps, with each object, the observer's digest of its version
// (the part of the pruned copy the observer compares, such as its phase),
// so that comparing needs no parse of the old copy.
class UpdateObserver {
 public:
  virtual ~UpdateObserver() = default;
  // Appends the digest of a version to `out`.
  virtual void digest(simdjson::dom::element object, std::string& out) const = 0;
  // `object` replaces a cached version of digest `old_digest` with one of
  // digest `new_digest`; called only when they differ, outside the cache's
  // lock, possibly from several informers' threads at once.
  virtual void updated(std::string_view old_digest, std::string_view new_digest,
                       simdjson::dom::element object) = 0;
};

struct SeriesMemo;  // config_metrics.hpp

struct CachedObject {
  std::string resource_version;
  std::string fields;  // pruned JSON
  std::string digest;  // the UpdateObserver's, if there is one
  // This version's series, as the last snapshot made them; dropped with
  // the version. Written by snapshots, which hold the cache's lock.
  mutable std::shared_ptr<SeriesMemo> memo;
};

// One resource's objects. Not locked: the informer that owns it serialises
// changes, readers lock `mutex()`.
class ObjectCache {
 public:
  explicit ObjectCache(FieldSelection fields, std::shared_ptr<UpdateObserver> observer = nullptr)
      : fields_(std::move(fields)), observer_(std::move(observer)) {}

  // ADDED or MODIFIED, or nullopt when this version is already cached. A
  // MODIFIED goes to the observer when its digest changed.
  std::optional<EventType> upsert(simdjson::dom::element object);
  // The pruned copy of what was removed, or nullopt when it was not cached.
  std::optional<std::string> erase(const std::string& key);
  // Keys of cached objects that are not in `present` (after a relist).
  std::vector<std::string> missing_from(const std::unordered_map<std::string, bool>& present) const;
  const CachedObject* find(const std::string& key) const;
  std::size_t size() const { return objects_.size(); }
  std::mutex& mutex() const { return mu_; }
  const std::unordered_map<std::string, CachedObject>& objects() const { return objects_; }

 private:
  FieldSelection fields_;
  std::shared_ptr<UpdateObserver> observer_;
  std::unordered_map<std::string, CachedObject> objects_;
  mutable std::mutex mu_;
};

}  // namespace kv::watch
