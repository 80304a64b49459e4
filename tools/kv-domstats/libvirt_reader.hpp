// Reads one libvirt connection: one bulk virConnectGetAllDomainStats call
// (NOWAIT, running and paused domains; its balloon group carries the memory
// statistics), one virDomainGetJobStats per domain, and the domain XML (device
// aliases) and vCPU pinning only when a domain is new or changed (pinning
// also once a minute). The host capabilities (deprecated machine types) are
// read once per connection, until a read succeeds.
//
// Read-only connections throughout: kv-domstats never changes a domain.
#pragma once

#include <libvirt/libvirt.h>

#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <vector>

#include "kv-domstats/domain_record.hpp"

namespace kv::domstats {

class LibvirtReader {
 public:
  explicit LibvirtReader(std::string uri);
  ~LibvirtReader();
  LibvirtReader(const LibvirtReader&) = delete;
  LibvirtReader& operator=(const LibvirtReader&) = delete;

  const std::string& uri() const { return uri_; }

  struct Result {
    std::vector<DomainRecord> records;
    // From this connection's host capabilities, once read.
    std::optional<std::vector<std::string>> deprecated_machine_types;
    std::string capabilities_error;  // when this read tried them and failed
  };

  // Connects if needed and reads every domain. Throws std::runtime_error
  // with libvirt's message when the connection or the bulk call fails (the
  // connection is then dropped, to be opened again next time).
  //
  // `bulk_only` skips the per-domain calls, which wait for a domain's job
  // where the bulk call does not: memory then comes from the bulk balloon
  // fields (the same values), pinning and job stats are left out. For
  // reading beside a read that is stuck on a hung domain.
  Result read(bool bulk_only = false);

 private:
  void connect();
  void disconnect();
  void read_domain(virDomainPtr dom, DomainRecord& r, bool bulk_only);
  struct XmlFacts;
  const XmlFacts& xml_facts(virDomainPtr dom, const DomainRecord& r);
  std::optional<std::uint64_t> cpu_affinity(virDomainPtr dom, int nvcpus);

  std::string uri_;
  std::mutex mu_;  // one read at a time per connection
  virConnectPtr conn_ = nullptr;
  int host_cpus_ = 0;
  std::optional<std::vector<std::string>> deprecated_machine_types_;
  // What the domain XML tells, read again only when it may have changed.
  struct XmlFacts {
    int id = -1;                                 // the domain's id: changes on restart
    std::vector<std::string> devices;            // device names it was read for
    std::map<std::string, std::string> aliases;  // target dev -> alias
    std::string kubevirt_uid;                    // <metadata><kubevirt><uid>
    int vcpus = 0;                               // vCPUs the pinning was read for
    std::optional<std::uint64_t> cpu_affinity;   // from virDomainGetVcpuPinInfo
    std::int64_t pin_read_ms = 0;
  };
  std::map<std::string, XmlFacts> xml_cache_;  // by domain UUID
};

// What kv-domstats takes from a domain XML: the alias of each <disk> and
// <interface> by its target dev, and KubeVirt's VMI UID from the metadata.
struct DomainXmlFacts {
  std::map<std::string, std::string> aliases;
  std::string kubevirt_uid;
};
DomainXmlFacts parse_domain_xml(std::string_view xml);

// The machine types a host capabilities XML marks deprecated
// (<guest><arch><machine deprecated='yes'>), sorted, each once.
std::vector<std::string> parse_deprecated_machine_types(std::string_view xml);

// libvirt typed parameters as plain values.
Params to_params(const virTypedParameter* params, int n);

// libvirt's last error as text ("unknown libvirt error" when none).
std::string libvirt_error();

// Whether a libvirt error code says the connection is gone or refused (the
// next attempt reconnects), rather than that one call failed.
bool is_connection_error(int code);

}  // namespace kv::domstats
