// labelsFromMap beyond kube-state-metrics' *_labels families: several maps
// merged, keys kept or left out by comma-separated lists (KubeVirt's
// kubevirt-vm-labels-config ConfigMap), and KubeVirt's naming of
// kubevirt_vm_labels' labels (kv-watch-config(5)).
#pragma once
#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"

namespace kv::watch::crs {

// A list of map keys as KubeVirt reads an allowlist or ignorelist: split at
// commas, items trimmed, empty items dropped; "*" among them stands for
// every key.
struct KeyList {
  bool all = false;
  std::vector<std::string> keys;
  bool contains(std::string_view key) const;
};
KeyList parse_key_list(std::string_view text);

// Whether a key is kept: not ignored, and allowed (no allowlist: all are;
// an empty one: none). Ignoring wins.
bool key_kept(std::string_view key, const KeyList* allow, const KeyList* ignore);

// KubeVirt's label name for a map key: <prefix>_<key>, the key with every
// character outside [a-zA-Z0-9_] replaced by "_" (as labelsFromPath's "*"
// copies do), then with "_" put before it unless it starts with a letter or
// "_". Case is kept.
std::string sanitized_map_label_name(std::string_view prefix, std::string_view key);

// The labels of `m` for one series, then those of `family` (commonLabels),
// each added to `series` where it has no such label yet: the maps at
// m.paths in `object` merged (a later map's key wins), the keys that the
// lists in the labels allowFromLabel and ignoreFromLabel keep (looked up in
// `series`, then in `family`), named as m.naming says. The list labels are
// then removed from `series`. Returns how many keys were kept (none, with
// `required`: the series is left out).
std::size_t add_series_map_labels(const MapLabels& m, simdjson::dom::element object, const LabelSet& family,
                                  LabelSet& series);

}  // namespace kv::watch::crs
