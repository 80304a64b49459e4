// kv-domstats' own health as samples (kv_domstats_*), written with each
// snapshot: per libvirt connection, per VM (with its guest agent, under
// --guest-agent, and its dirty rate, under --dirty-rate), and for the cycle.
#pragma once

#include <string>

#include "kv-domstats/collector.hpp"
#include "kv-domstats/domain_metrics.hpp"

namespace kv::domstats {

void emit_self_metrics(const CycleResult& cycle, const std::string& node,
                       const SampleSink& sink);

}  // namespace kv::domstats
