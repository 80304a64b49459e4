#include "kv-domstats/libvirt_reader.hpp"

#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <algorithm>
#include <memory>

#include "clock.hpp"
#include <stdexcept>

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
// Pinning is part of the domain definition; read it with the XML, and again
// after this long in case someone re-pinned a live domain.
constexpr std::int64_t kPinRefreshMs = 60'000;
constexpr unsigned kStatsFlags = VIR_CONNECT_GET_ALL_DOMAINS_STATS_RUNNING |
                                 VIR_CONNECT_GET_ALL_DOMAINS_STATS_PAUSED |
                                 VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;

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

DomainXmlFacts parse_domain_xml(std::string_view xml) {
  DomainXmlFacts facts;
  std::unique_ptr<xmlDoc, void (*)(xmlDocPtr)> doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
      xmlFreeDoc);
  if (!doc) return facts;
  std::unique_ptr<xmlXPathContext, void (*)(xmlXPathContextPtr)> ctx(
      xmlXPathNewContext(doc.get()), xmlXPathFreeContext);
  xmlXPathRegisterNs(ctx.get(), BAD_CAST "kv", BAD_CAST "http://kubevirt.io");
  auto eval = [&](const char* path) {
    return std::unique_ptr<xmlXPathObject, void (*)(xmlXPathObjectPtr)>(
        xmlXPathEvalExpression(BAD_CAST path, ctx.get()), xmlXPathFreeObject);
  };
  auto text_of = [](xmlNodePtr node) {
    std::unique_ptr<xmlChar, void (*)(void*)> v(xmlNodeGetContent(node), xmlFree);
    return v ? std::string(reinterpret_cast<const char*>(v.get())) : std::string();
  };
  auto devices = eval("/domain/devices/disk | /domain/devices/interface");
  if (devices && devices->nodesetval) {
    for (int i = 0; i < devices->nodesetval->nodeNr; ++i) {
      ctx->node = devices->nodesetval->nodeTab[i];
      auto dev = eval("string(target/@dev)"), alias = eval("string(alias/@name)");
      std::string d = dev && dev->stringval ? reinterpret_cast<const char*>(dev->stringval) : "";
      std::string a = alias && alias->stringval ? reinterpret_cast<const char*>(alias->stringval) : "";
      if (!d.empty() && !a.empty()) facts.aliases.emplace(d, a);
    }
  }
  ctx->node = nullptr;
  auto uid = eval("/domain/metadata/kv:kubevirt/kv:uid");
  if (uid && uid->nodesetval && uid->nodesetval->nodeNr > 0)
    facts.kubevirt_uid = text_of(uid->nodesetval->nodeTab[0]);
  return facts;
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

LibvirtReader::LibvirtReader(std::string uri) : uri_(std::move(uri)) {}

LibvirtReader::~LibvirtReader() { disconnect(); }

void LibvirtReader::connect() {
  if (conn_) return;
  conn_ = virConnectOpenReadOnly(uri_.c_str());
  if (!conn_) throw std::runtime_error("cannot connect to " + uri_ + ": " + libvirt_error());
  // No keepalive: libvirt runs it only with an event loop, which this
  // client does not have. A daemon that stops answering is handled by the
  // cycle deadline and the second connection instead (collector.cpp).
  host_cpus_ = virNodeGetCPUMap(conn_, nullptr, nullptr, 0);
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
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    DomainRecord r;
    r.source = uri_;
    r.stats = to_params(records[i]->params, records[i]->nparams);
    read_domain(records[i]->dom, r, bulk_only);
    out.push_back(std::move(r));
  }
  // Forget aliases of domains that are gone.
  for (auto it = xml_cache_.begin(); it != xml_cache_.end();) {
    bool live = false;
    for (const auto& r : out) live |= r.uuid == it->first;
    it = live ? std::next(it) : xml_cache_.erase(it);
  }
  return result;
}

void LibvirtReader::read_domain(virDomainPtr dom, DomainRecord& r, bool bulk_only) {
  if (const char* name = virDomainGetName(dom)) r.name = name;
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(dom, uuid) == 0) r.uuid = uuid;
  const XmlFacts& facts = xml_facts(dom, r);  // the XML needs no domain job
  r.aliases = facts.aliases;
  r.kubevirt_uid = facts.kubevirt_uid;
  // The bulk call's balloon group holds what virDomainMemoryStats returns
  // (the same QEMU query), so no per-domain round trip is needed for memory.
  memory_from_bulk(r);
  if (bulk_only) return;
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
}

const LibvirtReader::XmlFacts& LibvirtReader::xml_facts(virDomainPtr dom,
                                                        const DomainRecord& r) {
  // The devices the stats name; the XML is read again only when these or
  // the domain's id (a restart) change.
  std::vector<std::string> devices;
  for (const auto& [key, value] : r.stats)
    if (key.ends_with(".name") && (key.starts_with("block.") || key.starts_with("net.")))
      if (auto* s = std::get_if<std::string>(&value)) devices.push_back(*s);
  int id = static_cast<int>(virDomainGetID(dom));
  auto vcpus = r.stats.find("vcpu.maximum");
  if (vcpus == r.stats.end()) vcpus = r.stats.find("vcpu.current");
  int nvcpus = vcpus == r.stats.end() ? 0 : static_cast<int>(as_number(vcpus->second).value_or(0));
  std::int64_t now = now_ms();
  XmlFacts& cache = xml_cache_[r.uuid];
  bool changed = cache.id != id || cache.devices != devices || cache.vcpus != nvcpus;
  if (changed) {
    cache.id = id;
    cache.devices = devices;
    cache.vcpus = nvcpus;
    if (char* xml = virDomainGetXMLDesc(dom, 0)) {
      DomainXmlFacts facts = parse_domain_xml(xml);
      cache.aliases = std::move(facts.aliases);
      cache.kubevirt_uid = std::move(facts.kubevirt_uid);
      free(xml);
    }
  }
  if (changed || now - cache.pin_read_ms >= kPinRefreshMs) {
    cache.pin_read_ms = now;
    cache.cpu_affinity = cpu_affinity(dom, nvcpus);
  }
  return cache;
}

std::optional<std::uint64_t> LibvirtReader::cpu_affinity(virDomainPtr dom, int nvcpus) {
  // How many host CPUs each vCPU may run on, summed over the vCPUs.
  if (host_cpus_ <= 0 || nvcpus <= 0) return std::nullopt;
  int maplen = VIR_CPU_MAPLEN(host_cpus_);
  std::vector<unsigned char> maps(static_cast<std::size_t>(nvcpus) * maplen);
  int got = virDomainGetVcpuPinInfo(dom, nvcpus, maps.data(), maplen, VIR_DOMAIN_AFFECT_CURRENT);
  if (got <= 0) return std::nullopt;
  std::uint64_t bits = 0;
  for (int v = 0; v < got; ++v)
    for (int c = 0; c < host_cpus_; ++c) bits += VIR_CPU_USABLE(maps.data(), maplen, v, c) ? 1 : 0;
  return bits;
}

}  // namespace kv::domstats
