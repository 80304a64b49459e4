#include "kv-domstats/domain_xml.hpp"

#include <libxml/parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

namespace kv::domstats {

namespace {

constexpr std::string_view kKubeVirtNs = "http://kubevirt.io";

std::string_view sv(const xmlChar* s) {
  return s ? std::string_view(reinterpret_cast<const char*>(s)) : std::string_view();
}

// The SAX state: the path of open elements, and what was found so far.
// A tree and XPath cost three times the parse itself, for a handful of
// values at known paths.
struct Scan {
  struct Element {
    std::string_view name;  // local name
    std::string_view ns;    // namespace URI
  };
  std::vector<Element> path;
  DomainXmlFacts facts;
  // The <disk> or <interface> open now: its first target dev and alias.
  std::optional<std::string> dev, alias;
  bool in_uid = false;  // inside the first /domain/metadata/kv:kubevirt/kv:uid
  bool uid_seen = false;
  bool in_vcpu = false;
  std::string vcpu_text;

  bool at(std::initializer_list<std::string_view> names) const {
    if (path.size() != names.size()) return false;
    auto it = path.begin();
    for (std::string_view n : names)
      if ((it++)->name != n) return false;
    return true;
  }
};

// SAX2 attributes: (localname, prefix, URI, value, end) per attribute.
std::optional<std::string> attribute(int n, const xmlChar** attrs, std::string_view name) {
  for (int i = 0; i < n; ++i, attrs += 5)
    if (sv(attrs[0]) == name && !attrs[2])
      return std::string(reinterpret_cast<const char*>(attrs[3]),
                         static_cast<std::size_t>(attrs[4] - attrs[3]));
  return std::nullopt;
}

void start_element(void* ctx, const xmlChar* localname, const xmlChar*, const xmlChar* uri, int,
                   const xmlChar**, int nattrs, int, const xmlChar** attrs) {
  auto& s = *static_cast<Scan*>(ctx);
  s.path.push_back({sv(localname), sv(uri)});
  std::size_t depth = s.path.size();
  if (depth == 3 && (s.at({"domain", "devices", "disk"}) || s.at({"domain", "devices", "interface"}))) {
    s.dev.reset();
    s.alias.reset();
  } else if (depth == 4 && s.path[1].name == "devices" &&
             (s.path[2].name == "disk" || s.path[2].name == "interface") && s.path[0].name == "domain") {
    // string(target/@dev) and string(alias/@name): the first such attribute.
    if (s.path[3].name == "target" && !s.dev) s.dev = attribute(nattrs, attrs, "dev");
    if (s.path[3].name == "alias" && !s.alias) s.alias = attribute(nattrs, attrs, "name");
  } else if (depth == 4 && !s.uid_seen && s.at({"domain", "metadata", "kubevirt", "uid"}) &&
             s.path[2].ns == kKubeVirtNs && s.path[3].ns == kKubeVirtNs) {
    s.in_uid = true;
  } else if (depth == 2 && s.at({"domain", "vcpu"})) {
    s.in_vcpu = true;
    s.facts.vcpus.placement = attribute(nattrs, attrs, "placement").value_or("static");
    s.facts.vcpus.cpuset = attribute(nattrs, attrs, "cpuset").value_or("");
  } else if (depth == 3 && s.at({"domain", "cputune", "vcpupin"})) {
    auto vcpu = attribute(nattrs, attrs, "vcpu");
    auto cpuset = attribute(nattrs, attrs, "cpuset");
    int id = -1;
    if (vcpu) std::from_chars(vcpu->data(), vcpu->data() + vcpu->size(), id);
    // One the XML cannot mean: the pinning is then not taken from the XML.
    s.facts.vcpus.pins.emplace(id, cpuset.value_or(""));
  }
}

void end_element(void* ctx, const xmlChar*, const xmlChar*, const xmlChar*) {
  auto& s = *static_cast<Scan*>(ctx);
  if (s.path.size() == 3 && s.path[0].name == "domain" && s.path[1].name == "devices" &&
      (s.path[2].name == "disk" || s.path[2].name == "interface")) {
    if (s.dev && s.alias && !s.dev->empty() && !s.alias->empty())
      s.facts.aliases.emplace(*s.dev, *s.alias);
  } else if (s.in_uid && s.path.size() == 4) {
    s.in_uid = false;
    s.uid_seen = true;
  } else if (s.in_vcpu && s.path.size() == 2) {
    s.in_vcpu = false;
    std::string_view t = s.vcpu_text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
    int n = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    s.facts.vcpus.max = ec == std::errc() && end == t.data() + t.size() ? n : 0;
  }
  s.path.pop_back();
}

// Text, CDATA included, as xmlNodeGetContent gathers it.
void characters(void* ctx, const xmlChar* text, int len) {
  auto& s = *static_cast<Scan*>(ctx);
  if (s.in_uid) s.facts.kubevirt_uid.append(reinterpret_cast<const char*>(text), len);
  else if (s.in_vcpu && s.path.size() == 2) s.vcpu_text.append(reinterpret_cast<const char*>(text), len);
}

void no_error(void*, xmlErrorPtr) {}

}  // namespace

DomainXmlFacts parse_domain_xml(std::string_view xml) {
  xmlSAXHandler sax{};
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = start_element;
  sax.endElementNs = end_element;
  sax.characters = characters;
  sax.cdataBlock = characters;
  sax.serror = no_error;
  Scan scan;
  std::unique_ptr<xmlParserCtxt, void (*)(xmlParserCtxtPtr)> ctxt(
      xmlCreatePushParserCtxt(&sax, &scan, nullptr, 0, "domain.xml"), xmlFreeParserCtxt);
  if (!ctxt) return {};
  xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (xmlParseChunk(ctxt.get(), xml.data(), static_cast<int>(xml.size()), 1) != 0 ||
      !ctxt->wellFormed)
    return {};
  return std::move(scan.facts);
}

std::optional<std::vector<int>> parse_cpuset(std::string_view text) {
  // libvirt's own limit for a domain's cpusets (VIR_DOMAIN_CPUMASK_LEN).
  constexpr int kMaxCpus = 1024;
  std::vector<bool> set(kMaxCpus);
  auto number = [](std::string_view t, int& n) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
    return ec == std::errc() && end == t.data() + t.size() && n >= 0 && n < kMaxCpus;
  };
  bool any = false;
  for (std::size_t pos = 0; pos <= text.size();) {
    std::size_t comma = std::min(text.find(',', pos), text.size());
    std::string_view part = text.substr(pos, comma - pos);
    pos = comma + 1;
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (part.empty()) return std::nullopt;
    int a = 0, b = 0;
    if (part.front() == '^') {
      if (!number(part.substr(1), a)) return std::nullopt;
      set[a] = false;
    } else if (auto dash = part.find('-'); dash != std::string_view::npos) {
      if (!number(part.substr(0, dash), a) || !number(part.substr(dash + 1), b) || b < a)
        return std::nullopt;
      for (int c = a; c <= b; ++c) set[c] = true;
      any = true;
    } else {
      if (!number(part, a)) return std::nullopt;
      set[a] = true;
      any = true;
    }
  }
  if (!any) return std::nullopt;
  std::vector<int> cpus;
  for (int c = 0; c < kMaxCpus; ++c)
    if (set[c]) cpus.push_back(c);
  return cpus;
}

std::optional<std::uint64_t> cpu_affinity_from_xml(const XmlVcpus& vcpus, int nvcpus,
                                                   const HostCpus& host) {
  if (host.empty() || nvcpus <= 0 || vcpus.max <= 0) return std::nullopt;
  if (vcpus.placement != "static" && vcpus.placement != "auto") return std::nullopt;
  if (!vcpus.pins.empty() && vcpus.pins.begin()->first < 0) return std::nullopt;  // vcpu='?'
  // Only the host's CPUs count: the map libvirt fills is that wide.
  auto usable = [&](std::string_view cpuset) -> std::optional<std::uint64_t> {
    auto cpus = parse_cpuset(cpuset);
    if (!cpus) return std::nullopt;
    return std::count_if(cpus->begin(), cpus->end(),
                         [&](int c) { return static_cast<std::size_t>(c) < host.size(); });
  };
  bool all_online = std::all_of(host.begin(), host.end(), [](bool b) { return b; });
  std::uint64_t sum = 0;
  for (int v = 0; v < std::min(vcpus.max, nvcpus); ++v) {
    std::optional<std::uint64_t> n;
    if (auto pin = vcpus.pins.find(v); pin != vcpus.pins.end()) n = usable(pin->second);
    else if (vcpus.placement == "auto") return std::nullopt;
    else if (!vcpus.cpuset.empty()) n = usable(vcpus.cpuset);
    else if (all_online) n = host.size();
    if (!n) return std::nullopt;
    sum += *n;
  }
  return sum;
}

}  // namespace kv::domstats
