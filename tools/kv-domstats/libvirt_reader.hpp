// Reads one libvirt connection: one bulk virConnectGetAllDomainStats call
// (NOWAIT, running and paused domains; its balloon group carries the memory
// statistics), one virDomainGetJobStats per domain, and the domain XML
// (device aliases, vCPU pinning) only when a domain is new or changed, and
// once a minute in case someone re-pinned a live domain. The per-domain
// calls are made several at a time. The host capabilities (deprecated
// machine types) are read once per connection, until a read succeeds.
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
#include "kv-domstats/domain_xml.hpp"

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
    std::size_t xml_reads = 0;       // domains whose XML was read (new or changed)
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
  struct XmlFacts;
  // Safe to call for different domains at once: each has its own facts.
  // Both return whether they read the domain's XML.
  bool read_domain(virDomainPtr dom, DomainRecord& r, XmlFacts& facts, bool bulk_only,
                   std::int64_t now_ms) const;
  bool refresh_xml_facts(virDomainPtr dom, const DomainRecord& r, XmlFacts& facts,
                         std::int64_t now_ms) const;
  std::optional<std::uint64_t> cpu_affinity(virDomainPtr dom, int nvcpus) const;

  std::string uri_;
  std::mutex mu_;  // one read at a time per connection
  virConnectPtr conn_ = nullptr;
  HostCpus host_cpus_;  // online, by CPU number
  std::optional<std::vector<std::string>> deprecated_machine_types_;
  // What the domain XML tells, read again only when it may have changed.
  struct XmlFacts {
    int id = -1;                                 // the domain's id: changes on restart
    std::vector<std::string> devices;            // device names it was read for
    std::map<std::string, std::string> aliases;  // target dev -> alias
    std::string kubevirt_uid;                    // <metadata><kubevirt><uid>
    int vcpus = 0;                               // vCPUs the pinning was read for
    std::optional<std::uint64_t> cpu_affinity;   // from the XML, else virDomainGetVcpuPinInfo
    std::int64_t read_ms = 0;
  };
  std::map<std::string, XmlFacts> xml_cache_;  // by domain UUID
};

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
