// The --raw format: what kv-domstats read from libvirt (and, with
// --guest-agent, from the guest agents), one domain a line (NDJSON), each
// cycle closed by {"end":"kv-domstats-raw"}. --raw writes it for debugging
// and for recording fixtures; --replay reads it back in place of libvirt,
// so golden tests need neither libvirt nor QEMU.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kv-domstats/domain_record.hpp"

namespace kv::domstats {

void append_raw_record(std::string& out, const DomainRecord& record);
void append_raw_cycle_end(std::string& out);

// One cycle of a recording, or the reason the line could not be read.
struct RawCycle {
  std::vector<DomainRecord> domains;
};

// Reads a recording; calls `on_cycle` at every cycle end (and for the
// records after the last one). Throws std::runtime_error naming the file,
// the line and what is wrong.
void read_raw_recording(const std::string& path,
                        const std::function<void(RawCycle&)>& on_cycle);

}  // namespace kv::domstats
