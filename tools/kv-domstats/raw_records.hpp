// The --raw format: what kv-domstats read from libvirt (and, with
// --guest-agent, from the guest agents), one domain a line (NDJSON), each
// cycle closed by {"end":"kv-domstats-raw"}. --raw writes it for debugging
// and for recording fixtures; --replay reads it back in place of libvirt,
// so golden tests need neither libvirt nor QEMU.
//
// Besides the domains, a cycle has a line per crash event taken in it
// ({"event":"crashed","detail":"panicked",...}, with the domain log's panic
// line as "panic") and a line per connection whose host capabilities are
// known ({"host":URI,"deprecated_machine_types":[...]}).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kv-domstats/domain_record.hpp"
#include "kv-domstats/panics.hpp"

namespace kv::domstats {

void append_raw_record(std::string& out, const DomainRecord& record);
void append_raw_panic(std::string& out, const PanicRecord& panic);
void append_raw_host(std::string& out, const HostRecord& host);
void append_raw_cycle_end(std::string& out);

// One cycle of a recording.
struct RawCycle {
  std::vector<DomainRecord> domains;
  std::vector<PanicRecord> panics;
  std::vector<HostRecord> hosts;
  bool empty() const { return domains.empty() && panics.empty() && hosts.empty(); }
};

// Reads a recording; calls `on_cycle` at every cycle end (and for the
// records after the last one). Throws std::runtime_error naming the file,
// the line and what is wrong.
void read_raw_recording(const std::string& path,
                        const std::function<void(RawCycle&)>& on_cycle);

}  // namespace kv::domstats
