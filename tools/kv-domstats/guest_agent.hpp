// --guest-agent: asks each KubeVirt domain's QEMU guest agent for its
// filesystems (guest-get-fsinfo) and load (guest-get-load), as a task of
// the per-domain read-write workers (domain_workers.hpp), and keeps the
// answers between refreshes.
//
// It never changes a domain: it sends only commands that read (guest-info,
// guest-get-fsinfo, guest-get-load) and never sets the domain's own agent
// timeout. Every command waits at most the agent timeout.
#pragma once

#include <chrono>
#include <memory>

#include "kv-domstats/domain_workers.hpp"
#include "kv-domstats/guest_agent_data.hpp"

namespace kv::domstats {

struct GuestAgentOptions {
  std::chrono::seconds timeout{2};  // per agent command; libvirt counts in seconds
  std::chrono::milliseconds interval{std::chrono::seconds(60)};  // between refreshes
};

std::shared_ptr<const DomainTask> make_guest_agent_task(GuestAgentOptions options);

}  // namespace kv::domstats
