#include "kv-watch/object_lists.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

namespace kv::watch::crs {

using simdjson::dom::element;
using simdjson::dom::element_type;

std::optional<element> joined_element(const ListJoin& join, element object, element item) {
  auto on = join.on.get(item);
  auto list = join.path.get(object);
  if (!on || !list || list->type() != element_type::ARRAY) return std::nullopt;
  const std::string wanted = go_format_value(*on);
  for (auto candidate : list->get_array()) {
    if (is_null(candidate)) continue;
    auto key = join.key.get(candidate);
    if (!key) continue;
    // Keys are mostly strings: compared without a copy.
    std::string_view text;
    if (key->get(text) == simdjson::SUCCESS ? text == wanted : go_format_value(*key) == wanted) return candidate;
  }
  return std::nullopt;
}

void reduce_object_series(const Reduction& r, std::vector<Series>& out, std::size_t first) {
  using Op = Reduction::Op;
  if (out.size() <= first) {
    if (!r.by.empty()) return;
    std::optional<double> value = r.empty;
    if (!value && (r.op == Op::count || r.op == Op::sum)) value = 0.0;
    if (value) out.push_back({{}, *value});
    return;
  }
  // Few series per object: a sorted vector of groups is enough.
  std::vector<std::pair<LabelSet, std::pair<double, std::size_t>>> groups;
  for (std::size_t i = first; i < out.size(); ++i) {
    const Series& s = out[i];
    LabelSet key;
    for (const auto& name : r.by)
      if (const std::string* v = s.labels.find(name)) key.add(name, *v);
    auto it = std::lower_bound(groups.begin(), groups.end(), key,
                               [](const auto& g, const LabelSet& k) { return g.first < k; });
    if (it == groups.end() || it->first != key) {
      groups.insert(it, {std::move(key), {s.value, 1}});
      continue;
    }
    auto& [acc, n] = it->second;
    ++n;
    switch (r.op) {
      case Op::count: break;
      case Op::sum: acc += s.value; break;
      case Op::max: acc = std::max(acc, s.value); break;
      case Op::min: acc = std::min(acc, s.value); break;
    }
  }
  out.resize(first);
  for (auto& [labels, acc] : groups)
    out.push_back({std::move(labels), r.op == Op::count ? static_cast<double>(acc.second) : acc.first});
}

}  // namespace kv::watch::crs
