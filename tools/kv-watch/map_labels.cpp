#include "kv-watch/map_labels.hpp"

#include <algorithm>

namespace kv::watch::crs {

using simdjson::dom::element;
using simdjson::dom::element_type;

bool KeyList::contains(std::string_view key) const {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

KeyList parse_key_list(std::string_view text) {
  KeyList out;
  // Go's strings.TrimSpace, for the ASCII spaces a ConfigMap value holds.
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  while (true) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    auto b = item.find_first_not_of(kSpace);
    if (b != std::string_view::npos) {
      item = item.substr(b, item.find_last_not_of(kSpace) - b + 1);
      if (item == "*") out.all = true;
      out.keys.emplace_back(item);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

bool key_kept(std::string_view key, const KeyList* allow, const KeyList* ignore) {
  if (ignore && ignore->contains(key)) return false;
  return !allow || allow->all || allow->contains(key);
}

std::string sanitized_map_label_name(std::string_view prefix, std::string_view key) {
  std::string name = sanitize_label_name(key);
  char first = name.empty() ? 0 : name.front();
  bool letter = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '_';
  std::string out;
  out.reserve(prefix.size() + name.size() + 2);
  out.append(prefix).append("_");
  if (!letter) out += '_';
  out += name;
  return out;
}

namespace {

// The list in a label's text, parsed once for as long as the text stays the
// same: it comes from one looked-up object for every series of a snapshot.
class ParsedList {
 public:
  const KeyList* of(const std::string* text) {
    if (!text) return nullptr;  // no list: KubeVirt's defaults
    if (!parsed_ || text_ != *text) {
      text_ = *text;
      list_ = parse_key_list(text_);
      parsed_ = true;
    }
    return &list_;
  }

 private:
  bool parsed_ = false;
  std::string text_;
  KeyList list_;
};

}  // namespace

std::size_t add_series_map_labels(const MapLabels& m, element object, const LabelSet& family, LabelSet& series) {
  auto text_of = [&](const std::string& label) -> const std::string* {
    if (label.empty()) return nullptr;
    const std::string* text = series.find(label);
    return text ? text : family.find(label);
  };
  thread_local ParsedList allow_list, ignore_list;
  const KeyList* allow = allow_list.of(text_of(m.allow_from_label));
  const KeyList* ignore = ignore_list.of(text_of(m.ignore_from_label));

  // The maps merged in key order, a later map's value winning: sorted
  // stably, the last of equal keys kept.
  thread_local std::vector<std::pair<std::string_view, element>> merged;
  merged.clear();
  for (const auto& path : m.paths) {
    auto map = path.get(object);
    if (!map || map->type() != element_type::OBJECT) continue;
    for (auto field : map->get_object())
      if (key_kept(field.key, allow, ignore)) merged.emplace_back(field.key, field.value);
  }
  std::stable_sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t n = 0;
  for (std::size_t i = 0; i < merged.size(); ++i)
    if (i + 1 == merged.size() || merged[i + 1].first != merged[i].first) merged[n++] = merged[i];
  merged.resize(n);
  thread_local std::vector<std::string_view> keys;
  keys.clear();
  for (const auto& [key, _] : merged) keys.push_back(key);
  std::vector<std::string> names;
  if (m.naming == MapLabels::Naming::kube_state) {
    names = kube_map_label_names(m.prefix, keys);
  } else {
    // Keys that end up with one name: the later in key order wins (KubeVirt's
    // own choice depends on Go's map order).
    names.reserve(keys.size());
    for (auto key : keys) names.push_back(sanitized_map_label_name(m.prefix, key));
  }
  LabelSet labels;
  labels.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) labels.set(names[i], go_format_value(merged[i].second));
  series.add_all(labels);
  series.add_all(family);
  // The lists are read; commonLabels may have given them again.
  if (!m.allow_from_label.empty()) series.erase(m.allow_from_label);
  if (!m.ignore_from_label.empty()) series.erase(m.ignore_from_label);
  return merged.size();
}

}  // namespace kv::watch::crs
