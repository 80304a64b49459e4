#include "kv-domstats/libvirt_reader.hpp"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>

#include "clock.hpp"

namespace kv::domstats {

namespace {

// The groups KubeVirt reads, and only running and paused domains; NOWAIT
// skips what a domain busy with a job cannot give at once instead of
// waiting for the job (which can take tens of seconds).
// No dirtyrate group: it only has values after a calculation that a
// read-only connection cannot start (virDomainStartDirtyRateCalc), and it
// costs the bulk call a tenth of its time.
constexpr unsigned kStatsGroups = VIR_DOMAIN_STATS_CPU_TOTAL | VIR_DOMAIN_STATS_BALLOON |
                                  VIR_DOMAIN_STATS_VCPU | VIR_DOMAIN_STATS_INTERFACE |
                                  VIR_DOMAIN_STATS_BLOCK;
// Pinning is part of the domain definition; it comes with the XML, read
// again after this long in case someone re-pinned a live domain.
constexpr std::int64_t kXmlRefreshMs = 60'000;
constexpr unsigned kStatsFlags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
                                 VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED |
                                 VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
// Per-domain calls in flight on one connection. libvirt's client is
// thread-safe and pipelines the calls of several threads over the one
// socket: at 100 domains they took half the wall time or less, for about
// the same client CPU. Each thread takes at least kDomainsPerThread.
constexpr std::size_t kCallsInFlight = 8;
constexpr std::size_t kDomainsPerThread = 8;

// The bulk call's balloon.* fields carry what virDomainMemoryStats returns,
// under other names.
void memory_from_bulk(DomainRecord& r) {
  static constexpr std::pair<const char*, const char*> kBulk[] = {
      {"balloon.swap_in", "swap_in"},         {"balloon.swap_out", "swap_out"},
      {"balloon.major_fault", "major_fault"}, {"balloon.minor_fault", "minor_fault"},
      {"balloon.unused", "unused"},           {"balloon.available", "available"},
      {"balloon.current", "actual_balloon"},  {"balloon.rss", "rss"},
      {"balloon.usable", "usable"},           {"balloon.disk_caches", "disk_caches"},
      {"balloon.last-update", "last_update"},
  };
  for (const auto& [bulk, name] : kBulk)
    if (auto it = r.stats.find(bulk); it != r.stats.end()) r.memory.emplace(name, it->second);
}

// Calls fn(i) for every i < n, on up to `threads` threads (this one too).
template <typename Fn>
void for_each_concurrently(std::size_t n, std::size_t threads, const Fn& fn) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads: fewer do the work
    }
  }
  work();
  for (auto& t : helpers) t.join();
}

}  // namespace

Params to_params(const virTypedParameter* params, int n) {
  Params out;
  for (int i = 0; i < n; ++i) {
    const virTypedParameter& p = params[i];
    switch (p.type) {
      case VIR_TYPED_PARAM_INT: out.emplace(p.field, std::int64_t(p.value.i)); break;
      case VIR_TYPED_PARAM_UINT: out.emplace(p.field, std::uint64_t(p.value.ui)); break;
      case VIR_TYPED_PARAM_LLONG: out.emplace(p.field, std::int64_t(p.value.l)); break;
      case VIR_TYPED_PARAM_ULLONG: out.emplace(p.field, std::uint64_t(p.value.ul)); break;
      case VIR_TYPED_PARAM_DOUBLE: out.emplace(p.field, p.value.d); break;
      case VIR_TYPED_PARAM_BOOLEAN: out.emplace(p.field, p.value.b != 0); break;
      case VIR_TYPED_PARAM_STRING:
        if (p.value.s) out.emplace(p.field, std::string(p.value.s));
        break;
    }
  }
  return out;
}

std::vector<std::string> parse_deprecated_machine_types(std::string_view xml) {
  std::vector<std::string> out;
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "capabilities.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  if (!doc) throw std::runtime_error("the host capabilities are not XML");
  std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContextPtr)> ctx(
      xmlXPathNewContext(doc.get()), xmlXPathFreeContext);
  std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObjectPtr)> machines(
      xmlXPathEvalExpression(BAD_CAST "/capabilities/guest/arch/machine[@deprecated='yes']",
                             ctx.get()),
      xmlXPathFreeObject);
  if (machines && machines->nodesetval) {
    for (int i = 0; i < machines->nodesetval->nodeNr; ++i) {
      std::unique_ptr<xmlChar, void (*)(void*)> name(
          xmlNodeGetContent(machines->nodesetval->nodeTab[i]), xmlFree);
      if (name && *name) out.emplace_back(reinterpret_cast<const char*>(name.get()));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string libvirt_error() {
  const virError* err = virGetLastError();
  return err && err->message ? err->message : "unknown libvirt error";
}

bool is_connection_error(int code) {
  switch (code) {
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_SYSTEM_ERROR:
    case VIR_ERR_RPC:
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
    case VIR_ERR_AUTH_UNAVAILABLE:
    case VIR_ERR_ACCESS_DENIED:
    case VIR_ERR_OPERATION_DENIED: return true;
    default: return false;
  }
}

// libxml2 must be set up before threads parse with it (read()).
LibvirtReader::LibvirtReader(std::string uri) : uri_(std::move(uri)) { xmlInitParser(); }

LibvirtReader::~LibvirtReader() { disconnect(); }

void LibvirtReader::connect() {
  if (conn_) return;
  conn_ = virConnectOpenReadOnly(uri_.c_str());
  if (!conn_) throw std::runtime_error("cannot connect to " + uri_ + ": " + libvirt_error());
  // No keepalive: libvirt runs it only with an event loop, which this
  // client does not have. A daemon that stops answering is handled by the
  // cycle deadline and the second connection instead (collector.cpp).
  unsigned char* map = nullptr;
  int cpus = virNodeGetCPUMap(conn_, &map, nullptr, 0);
  host_cpus_.assign(static_cast<std::size_t>(std::max(cpus, 0)), false);
  for (int c = 0; c < cpus; ++c) host_cpus_[c] = VIR_CPU_USED(map, c);
  free(map);
}

void LibvirtReader::disconnect() {
  if (conn_) virConnectClose(conn_);
  conn_ = nullptr;
  xml_cache_.clear();
  deprecated_machine_types_.reset();
}

LibvirtReader::Result LibvirtReader::read(bool bulk_only) {
  std::lock_guard lock(mu_);
  connect();
  Result result;
  // Once per connection, not per cycle (KubeVirt reads them once, at
  // start): in KubeVirt a new QEMU comes with a new launcher, so a new
  // connection.
  if (!deprecated_machine_types_) {
    if (char* xml = virConnectGetCapabilities(conn_)) {
      try {
        deprecated_machine_types_ = parse_deprecated_machine_types(xml);
      } catch (const std::runtime_error& e) {
        result.capabilities_error = uri_ + ": " + e.what();
      }
      free(xml);
    } else {
      result.capabilities_error = "cannot read the host capabilities of " + uri_ + ": " + libvirt_error();
    }
  }
  result.deprecated_machine_types = deprecated_machine_types_;
  virDomainStatsRecordPtr* records = nullptr;
  int n = virConnectGetAllDomainStats(conn_, kStatsGroups, &records, kStatsFlags);
  if (n < 0) {
    std::string msg = "cannot read domain stats from " + uri_ + ": " + libvirt_error();
    disconnect();
    throw std::runtime_error(msg);
  }
  std::unique_ptr<virDomainStatsRecordPtr, void (*)(virDomainStatsRecordPtr*)> guard(
      records, virDomainStatsRecordListFree);
  std::vector<DomainRecord>& out = result.records;
  out.resize(static_cast<std::size_t>(n));
  std::vector<XmlFacts*> facts(out.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    DomainRecord& r = out[i];
    r.source = uri_;
    r.stats = to_params(records[i]->params, records[i]->nparams);
    if (const char* name = virDomainGetName(records[i]->dom)) r.name = name;
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(records[i]->dom, uuid) == 0) r.uuid = uuid;
    facts[i] = &xml_cache_[r.uuid];  // made here: the threads below only use them
  }
  std::int64_t now = now_ms();
  std::size_t threads = std::min(kCallsInFlight, (out.size() + kDomainsPerThread - 1) / kDomainsPerThread);
  std::atomic<std::size_t> xml_reads{0};
  for_each_concurrently(out.size(), threads, [&](std::size_t i) {
    if (read_domain(records[i]->dom, out[i], *facts[i], bulk_only, now)) ++xml_reads;
  });
  result.xml_reads = xml_reads;
  // Forget what the XML told of domains that are gone: keep the entries of
  // this cycle's domains (moved, not copied), drop the rest.
  std::map<std::string, XmlFacts> live;
  for (const auto& r : out)
    if (auto node = xml_cache_.extract(r.uuid)) live.insert(std::move(node));
  xml_cache_.swap(live);
  return result;
}

bool LibvirtReader::read_domain(virDomainPtr dom, DomainRecord& r, XmlFacts& facts,
                                bool bulk_only, std::int64_t now) const {
  bool xml_read = refresh_xml_facts(dom, r, facts, now);  // the XML needs no domain job
  r.aliases = facts.aliases;
  r.kubevirt_uid = facts.kubevirt_uid;
  // The bulk call's balloon group holds what virDomainMemoryStats returns
  // (the same QEMU query), so no per-domain round trip is needed for memory.
  memory_from_bulk(r);
  if (bulk_only) return xml_read;
  r.cpu_affinity = facts.cpu_affinity;

  int job_type = 0, njob = 0;
  virTypedParameterPtr job = nullptr;
  if (virDomainGetJobStats(dom, &job_type, &job, &njob, 0) == 0) {
    if (job_type != VIR_DOMAIN_JOB_NONE) {
      r.job_type = job_type;
      r.job = to_params(job, njob);
    }
    virTypedParamsFree(job, njob);
  }
  return xml_read;
}

bool LibvirtReader::refresh_xml_facts(virDomainPtr dom, const DomainRecord& r, XmlFacts& cache,
                                      std::int64_t now) const {
  // The devices the stats name; the XML is read again only when these or
  // the domain's id (a restart) change, or after kXmlRefreshMs.
  std::vector<std::string> devices;
  for (const auto& [key, value] : r.stats)
    if (key.ends_with(".name") && (key.starts_with("block.") || key.starts_with("net.")))
      if (auto* s = std::get_if<std::string>(&value)) devices.push_back(*s);
  int id = static_cast<int>(virDomainGetID(dom));
  auto vcpus = r.stats.find("vcpu.maximum");
  if (vcpus == r.stats.end()) vcpus = r.stats.find("vcpu.current");
  int nvcpus = vcpus == r.stats.end() ? 0 : static_cast<int>(as_number(vcpus->second).value_or(0));
  bool changed = cache.id != id || cache.devices != devices || cache.vcpus != nvcpus;
  if (!changed && now - cache.read_ms < kXmlRefreshMs) return false;
  cache.id = id;
  cache.devices = std::move(devices);
  cache.vcpus = nvcpus;
  cache.read_ms = now;
  std::optional<XmlVcpus> xml_vcpus;
  if (char* xml = virDomainGetXMLDesc(dom, 0)) {
    DomainXmlFacts facts = parse_domain_xml(xml);
    free(xml);
    cache.aliases = std::move(facts.aliases);
    cache.kubevirt_uid = std::move(facts.kubevirt_uid);
    xml_vcpus = std::move(facts.vcpus);
  }
  // The live XML shows the pinning; where it cannot tell for certain,
  // libvirt is asked.
  cache.cpu_affinity = xml_vcpus ? cpu_affinity_from_xml(*xml_vcpus, nvcpus, host_cpus_) : std::nullopt;
  if (!cache.cpu_affinity) cache.cpu_affinity = cpu_affinity(dom, nvcpus);
  return true;
}

std::optional<std::uint64_t> LibvirtReader::cpu_affinity(virDomainPtr dom, int nvcpus) const {
  // How many host CPUs each vCPU may run on, summed over the vCPUs.
  int host_cpus = static_cast<int>(host_cpus_.size());
  if (host_cpus <= 0 || nvcpus <= 0) return std::nullopt;
  int maplen = VIR_CPU_MAPLEN(host_cpus);
  std::vector<unsigned char> maps(static_cast<std::size_t>(nvcpus) * maplen);
  int got = virDomainGetVcpuPinInfo(dom, nvcpus, maps.data(), maplen, VIR_DOMAIN_AFFECT_CURRENT);
  if (got <= 0) return std::nullopt;
  std::uint64_t bits = 0;
  for (int v = 0; v < got; ++v)
    for (int c = 0; c < host_cpus; ++c) bits += VIR_CPU_USABLE(maps.data(), maplen, v, c) ? 1 : 0;
  return bits;
}

}  // namespace kv::domstats
