// Is the server a Kubernetes API, and which resources does it serve
// (/api, /apis and the group versions' resource lists).
#pragma once
#include <string>
#include <vector>

#include "kube_client.hpp"
#include "kv-watch/resource_types.hpp"

namespace kv::watch {

struct ApiProbe {
  enum class Outcome { kubernetes, unreachable, not_kubernetes, tls_failure, unauthorized };
  Outcome outcome;
  std::string message;  // what went wrong, for a log line
};

// GET /api: a Kubernetes API server answers with an APIVersions document.
ApiProbe probe_api(KubeSession& session, const KubeRequestLimits& limits);

// Every listable resource of the preferred version of every group. Throws
// std::runtime_error when discovery fails.
std::vector<DiscoveredResource> discover_resources(KubeSession& session, const KubeRequestLimits& limits);

// Every listable resource of every served version of one group ("" for
// the core group), for version wildcards. Throws like discover_resources.
std::vector<ResourceType> discover_group(KubeSession& session, const KubeRequestLimits& limits,
                                         const std::string& group);

}  // namespace kv::watch
