#include "kv-watch/object_cache.hpp"

#include <algorithm>
#include <charconv>

#include "sample_writer.hpp"

namespace kv::watch {

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::added: return "ADDED";
    case EventType::modified: return "MODIFIED";
    case EventType::deleted: return "DELETED";
  }
  return "";
}

std::optional<EventType> parse_event_type(std::string_view name) {
  if (name == "ADDED") return EventType::added;
  if (name == "MODIFIED") return EventType::modified;
  if (name == "DELETED") return EventType::deleted;
  return std::nullopt;
}

FieldSelection::FieldSelection()
    : FieldSelection({"metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion"}) {}

FieldSelection::FieldSelection(const std::vector<std::string>& paths) {
  for (const auto& p : paths) add(p);
}

void FieldSelection::add(std::string_view path) {
  Node* node = &root_;
  while (!path.empty() && !node->whole) {
    auto dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    node = &node->children[std::string(part)];
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  node->whole = true;
  node->children.clear();
}

void FieldSelection::prune(simdjson::dom::element value, std::string& out) const {
  prune(root_, value, out);
}

namespace {

// A value as compact JSON. Scalars, most of the fields kept, are written
// here: simdjson::minify builds each in a buffer of its own (a malloc and a
// copy per field, on every event).
void append_value(simdjson::dom::element value, std::string& out) {
  using simdjson::dom::element_type;
  char buf[24];
  switch (value.type()) {
    case element_type::STRING: {
      std::string_view text = value.get_string().value_unsafe();
      // Most need no escape (and simdjson has checked the UTF-8): one copy.
      if (std::none_of(text.begin(), text.end(), [](char c) {
            return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
          })) {
        out += '"';
        out.append(text);
        out += '"';
      } else {
        append_json_string(out, text);
      }
      return;
    }
    case element_type::INT64:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, value.get_int64().value_unsafe()).ptr);
      return;
    case element_type::UINT64:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, value.get_uint64().value_unsafe()).ptr);
      return;
    case element_type::BOOL:
      out += value.get_bool().value_unsafe() ? "true" : "false";
      return;
    case element_type::NULL_VALUE:
      out += "null";
      return;
    default:  // objects, arrays, and doubles in simdjson's shortest form
      out += simdjson::minify(value);
  }
}

}  // namespace

void FieldSelection::prune(const Node& node, simdjson::dom::element value, std::string& out) {
  using simdjson::dom::element_type;
  if (node.whole) {
    append_value(value, out);
    return;
  }
  if (value.type() == element_type::ARRAY) {
    out += '[';
    bool first = true;
    for (auto item : value.get_array()) {
      if (!first) out += ',';
      first = false;
      prune(node, item, out);
    }
    out += ']';
    return;
  }
  if (value.type() != element_type::OBJECT) {
    // A scalar where the selection expected more: keep it, it is small.
    append_value(value, out);
    return;
  }
  out += '{';
  bool first = true;
  for (auto field : value.get_object()) {
    auto child = node.children.find(field.key);
    if (child == node.children.end()) continue;
    if (!first) out += ',';
    first = false;
    append_json_string(out, field.key);
    out += ':';
    prune(child->second, field.value, out);
  }
  out += '}';
}

std::string object_key(simdjson::dom::element object) {
  std::string_view name, ns;
  if (object["metadata"]["name"].get(name) != simdjson::SUCCESS || name.empty()) return {};
  if (object["metadata"]["namespace"].get(ns) != simdjson::SUCCESS || ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::string_view object_resource_version(simdjson::dom::element object) {
  std::string_view rv;
  if (object["metadata"]["resourceVersion"].get(rv) != simdjson::SUCCESS) return {};
  return rv;
}

std::optional<EventType> ObjectCache::upsert(simdjson::dom::element object) {
  std::string key = object_key(object);
  std::string_view rv = object_resource_version(object);
  std::string fields;
  fields_.prune(object, fields);
  std::string digest, old_digest;
  if (observer_) observer_->digest(object, digest);
  bool changed = false;
  bool inserted;
  {
    std::lock_guard lock(mu_);
    auto [it, added] = objects_.try_emplace(std::move(key));
    inserted = added;
    if (!inserted && !rv.empty() && it->second.resource_version == rv) return std::nullopt;
    it->second.resource_version.assign(rv);
    // A new version with the same kept fields (most status updates touch
    // fields no metric reads) keeps the series made from them.
    if (it->second.fields != fields) {
      it->second.fields = std::move(fields);
      it->second.fields.shrink_to_fit();
      it->second.memo.reset();
    }
    if (observer_) {
      changed = !inserted && it->second.digest != digest;
      if (changed) old_digest = std::move(it->second.digest);
      it->second.digest = digest;
    }
  }
  if (changed) observer_->updated(old_digest, digest, object);
  return inserted ? EventType::added : EventType::modified;
}

std::optional<std::string> ObjectCache::erase(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return std::nullopt;
  std::string fields = std::move(it->second.fields);
  objects_.erase(it);
  return fields;
}

std::vector<std::string> ObjectCache::missing_from(const std::unordered_map<std::string, bool>& present) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> gone;
  for (const auto& [key, _] : objects_)
    if (!present.count(key)) gone.push_back(key);
  return gone;
}

const CachedObject* ObjectCache::find(const std::string& key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : &it->second;
}

}  // namespace kv::watch
