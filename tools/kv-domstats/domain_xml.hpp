// What kv-domstats takes from a domain's live XML, and the vCPU pinning
// that virDomainGetVcpuPinInfo would report, worked out from it where the
// XML says enough. Pure functions: no libvirt connection.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::domstats {

// <vcpu> and <cputune><vcpupin> as libvirt formats them.
struct XmlVcpus {
  int max = 0;                      // <vcpu>N</vcpu>
  std::string placement;            // <vcpu placement=...>, "static" or "auto"
  std::string cpuset;               // <vcpu cpuset=...>
  std::map<int, std::string> pins;  // <vcpupin vcpu=... cpuset=...>
};

struct DomainXmlFacts {
  std::map<std::string, std::string> aliases;  // <disk>/<interface> target dev -> alias
  std::string kubevirt_uid;                    // <metadata><kubevirt><uid>
  XmlVcpus vcpus;
};

// Streams the XML (SAX): no document tree is built. Not well-formed XML
// gives no facts.
DomainXmlFacts parse_domain_xml(std::string_view xml);

// A libvirt cpuset ("0-3,^2,8") as the CPUs it names; nullopt when it is
// not one.
std::optional<std::vector<int>> parse_cpuset(std::string_view text);

// The CPUs of the host that are online, as virNodeGetCPUMap gives them:
// online[c] for each CPU c of the host.
using HostCpus = std::vector<bool>;

// The sum over the first `nvcpus` vCPUs of the host CPUs each may run on,
// as virDomainGetVcpuPinInfo gives it, or nullopt where the XML cannot
// tell it for certain (the caller then asks libvirt). libvirt fills each
// vCPU's map from its <vcpupin>, else from the automatic placement's
// cpuset (which the XML does not show), else from <vcpu cpuset>, else with
// the online host CPUs. A <vcpu cpuset> that names every CPU is not
// written to the XML, so the last case is taken only when every host CPU
// is online, where the two agree.
std::optional<std::uint64_t> cpu_affinity_from_xml(const XmlVcpus& vcpus, int nvcpus,
                                                   const HostCpus& host);

}  // namespace kv::domstats
