// kv-watch's own health as kv_watch_* samples (common/metric_catalog.def).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kv-watch/informer.hpp"
#include "sample_writer.hpp"

namespace kv::watch {

using SampleSink = std::function<void(const SampleOut&)>;

// One set of series per resource, its informers (one per namespace with
// --namespaces) summed; `started_ms` stands in for the last contact of an
// informer that never reached the server.
void emit_self_metrics(const std::vector<std::unique_ptr<Informer>>& informers, std::int64_t now,
                       std::int64_t started_ms, const SampleSink& sink);

}  // namespace kv::watch
