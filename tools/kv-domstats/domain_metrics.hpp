// Turns a DomainRecord into KubeVirt's kubevirt_vmi_* samples: names,
// types, labels and units exactly as virt-handler exports them. A pure
// function: no libvirt, no clock, no environment.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kv-domstats/domain_record.hpp"
#include "sample_writer.hpp"

namespace kv::domstats {

struct VmIdentity {
  std::string ns;
  std::string name;
};

// KubeVirt names a VMI's domain "<namespace>_<name>"; neither part can hold
// '_' (both are DNS names). Anything else is not a KubeVirt domain.
std::optional<VmIdentity> kubevirt_identity(std::string_view domain_name);

// A device alias as KubeVirt labels it: user aliases lose their "ua-" prefix.
std::string_view device_label(std::string_view alias);

struct MappingOptions {
  std::string node;
  // Every known series of the domain, with a placeholder where libvirt gave
  // nothing: 0 for counters, NaN for gauges.
  bool emit_all = false;
  bool dirty_rate = false;  // --dirty-rate measures it, so --emit-all includes it
};

using SampleSink = std::function<void(const SampleOut&)>;

// Calls `sink` once per sample; returns how many. Domains that are not
// KubeVirt's yield nothing.
std::size_t map_domain(const DomainRecord& record, const MappingOptions& options,
                       const SampleSink& sink);

// kubevirt_node_deprecated_machine_types{machine_type,node} = 1 for every
// machine type a host marks deprecated, each once: with KubeVirt's per-VM
// sockets every source of a node names the same ones.
std::size_t map_hosts(const std::vector<HostRecord>& hosts, const std::string& node,
                      const SampleSink& sink);

}  // namespace kv::domstats
