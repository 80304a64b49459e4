// --dirty-rate: kubevirt_vmi_dirty_rate_bytes_per_second, the rate at
// which a running guest writes to its memory, as a task of the per-domain
// read-write workers (domain_workers.hpp).
//
// libvirt has a value only after a calculation that a read-write
// connection starts (virDomainStartDirtyRateCalc). For each running
// KubeVirt domain that is not migrating (a migration reports its own dirty
// rate, and KubeVirt leaves those out too), every interval: one 1 s
// calculation in page-sampling mode, then the dirtyrate stats group of
// that domain (virDomainListGetStats) until calc_status says measured.
// Page sampling hashes a few hundred sampled pages per GiB of guest memory
// at the start and at the end of the second: no dirty logging, no pause,
// and a guest cost of hashing about 2 MiB per GiB twice. KubeVirt calculates
// on every scrape; once a minute by default here.
//
// Both calls take the domain's job for a moment; a bulk stats read that
// comes at that moment (NOWAIT) skips what needs the job for that domain,
// for that cycle.
//
// The pure parts are in dirty_rate_data.hpp.
#pragma once

#include <chrono>
#include <memory>

#include "kv-domstats/dirty_rate_data.hpp"
#include "kv-domstats/domain_workers.hpp"

namespace kv::domstats {

struct DirtyRateOptions {
  std::chrono::milliseconds interval{std::chrono::seconds(60)};  // between calculations
  std::chrono::seconds calc{1};  // what the calculation measures over
  // How long after its end a calculation may take to be measured.
  std::chrono::milliseconds wait{std::chrono::seconds(4)};
};

std::shared_ptr<const DomainTask> make_dirty_rate_task(DirtyRateOptions options);

}  // namespace kv::domstats
