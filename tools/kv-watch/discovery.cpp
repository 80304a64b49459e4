#include "kv-watch/discovery.hpp"

#include <simdjson.h>

#include <stdexcept>

namespace kv::watch {
namespace {

simdjson::dom::element fetch_json(KubeSession& session, simdjson::dom::parser& parser,
                                  const std::string& path, const KubeRequestLimits& limits,
                                  std::string& body_holder) {
  KubeResponse r = session.get(path, limits);
  if (r.status != 200 || !r.error.empty())
    throw std::runtime_error("discovery " + path + ": " + describe_failure(r));
  body_holder = std::move(r.body);
  simdjson::dom::element doc;
  if (parser.parse(body_holder).get(doc) != simdjson::SUCCESS)
    throw std::runtime_error("discovery " + path + ": the answer is not JSON");
  return doc;
}

void add_group_version(KubeSession& session, const std::string& group, const std::string& version,
                       const KubeRequestLimits& limits, std::vector<DiscoveredResource>& out) {
  simdjson::dom::parser parser;
  std::string body;
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  auto doc = fetch_json(session, parser, path, limits, body);
  simdjson::dom::array resources;
  if (doc["resources"].get(resources) != simdjson::SUCCESS) return;
  for (auto r : resources) {
    std::string_view name, kind, singular;
    bool namespaced = false;
    if (r["name"].get(name) != simdjson::SUCCESS || name.find('/') != std::string_view::npos) continue;
    // Optional fields: absent ones keep their defaults.
    if (r["kind"].get(kind) != simdjson::SUCCESS) kind = {};
    if (r["singularName"].get(singular) != simdjson::SUCCESS) singular = {};
    if (r["namespaced"].get(namespaced) != simdjson::SUCCESS) namespaced = false;
    DiscoveredResource d;
    d.type = {group, version, std::string(name), std::string(kind), namespaced};
    d.singular = singular.empty() ? std::string() : std::string(singular);
    simdjson::dom::array shorts;
    if (r["shortNames"].get(shorts) == simdjson::SUCCESS)
      for (auto s : shorts) {
        std::string_view v;
        if (s.get(v) == simdjson::SUCCESS) d.short_names.emplace_back(v);
      }
    out.push_back(std::move(d));
  }
}

}  // namespace

ApiProbe probe_api(KubeSession& session, const KubeRequestLimits& limits) {
  KubeResponse r = session.get("/api", limits);
  if (r.tls_failure) return {ApiProbe::Outcome::tls_failure, r.error};
  if (r.status == 0 || !r.error.empty()) return {ApiProbe::Outcome::unreachable, r.error};
  if (r.status == 401 || r.status == 403) return {ApiProbe::Outcome::unauthorized, describe_failure(r)};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view kind;
  if (r.status == 200 && parser.parse(r.body).get(doc) == simdjson::SUCCESS &&
      doc["kind"].get(kind) == simdjson::SUCCESS && kind == "APIVersions")
    return {ApiProbe::Outcome::kubernetes, {}};
  return {ApiProbe::Outcome::not_kubernetes,
          "GET /api answered " + describe_failure(r) + ", not a Kubernetes APIVersions document"};
}

std::vector<DiscoveredResource> discover_resources(KubeSession& session, const KubeRequestLimits& limits) {
  std::vector<DiscoveredResource> out;
  add_group_version(session, "", "v1", limits, out);
  simdjson::dom::parser parser;
  std::string body;
  auto groups = fetch_json(session, parser, "/apis", limits, body);
  simdjson::dom::array list;
  if (groups["groups"].get(list) != simdjson::SUCCESS) return out;
  for (auto g : list) {
    std::string_view name, version;
    if (g["name"].get(name) != simdjson::SUCCESS) continue;
    if (g["preferredVersion"]["version"].get(version) != simdjson::SUCCESS) continue;
    add_group_version(session, std::string(name), std::string(version), limits, out);
  }
  return out;
}

std::vector<ResourceType> discover_group(KubeSession& session, const KubeRequestLimits& limits,
                                         const std::string& group) {
  std::vector<DiscoveredResource> found;
  if (group.empty()) {
    add_group_version(session, "", "v1", limits, found);
  } else {
    simdjson::dom::parser parser;
    std::string body;
    auto groups = fetch_json(session, parser, "/apis", limits, body);
    simdjson::dom::array list;
    if (groups["groups"].get(list) == simdjson::SUCCESS)
      for (auto g : list) {
        std::string_view name;
        simdjson::dom::array versions;
        if (g["name"].get(name) != simdjson::SUCCESS || name != group) continue;
        if (g["versions"].get(versions) != simdjson::SUCCESS) continue;
        for (auto v : versions) {
          std::string_view version;
          if (v["version"].get(version) == simdjson::SUCCESS)
            add_group_version(session, group, std::string(version), limits, found);
        }
      }
  }
  std::vector<ResourceType> out;
  for (auto& d : found) out.push_back(std::move(d.type));
  return out;
}

}  // namespace kv::watch
