// Two of kv-watch's config extensions that work inside one object
// (kv-watch-config(5)): forEach.join pairs an element of one list with the
// element of another list that has the same key, and reduce combines the
// series one object yields (a maximum over its conditions, say).
#pragma once
#include <cstddef>
#include <optional>
#include <vector>

#include "kv-watch/crs_config.hpp"
#include "kv-watch/crs_metrics.hpp"

namespace kv::watch::crs {

// The first element of the list at join.path in `object` whose join.key
// equals join.on of `item`, both as a label would show them; nullopt when
// `item` has no such value or no element has it.
std::optional<simdjson::dom::element> joined_element(const ListJoin& join, simdjson::dom::element object,
                                                     simdjson::dom::element item);

// Replaces out[first..] (the series of one object, before the metric's
// own labels) by one series per distinct set of the reduction's `by`
// labels. With no series and no `by`: one unlabelled series of the
// reduction's default (count and sum: 0), or none.
void reduce_object_series(const Reduction& reduction, std::vector<Series>& out, std::size_t first);

}  // namespace kv::watch::crs
