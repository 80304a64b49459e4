// The API resources kv-watch can list and watch, named as kubectl names
// them: plural, singular, short names, or group/version/resource.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kv::watch {

struct ResourceType {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;  // plural, as in the URL
  std::string kind;
  bool namespaced = true;

  // "kubevirt.io/v1" or "v1", as objects' apiVersion.
  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "kubevirt.io/v1/virtualmachineinstances": the name in events and labels.
  std::string id() const { return api_version() + "/" + resource; }
  // The collection's URL path, in one namespace or in all ("").
  std::string collection_path(std::string_view ns) const;
};

// What discovery says about one resource of the server (name, singular,
// short names), for names the built-in table does not know.
struct DiscoveredResource {
  ResourceType type;
  std::string singular;
  std::vector<std::string> short_names;
};

// Built-in: core pods, nodes, namespaces, services, persistentvolumeclaims;
// apps deployments, daemonsets, replicasets; KubeVirt's VMs, VMIs,
// migrations, the KubeVirt CR, snapshots. Also "group/version/resource"
// and "resource.version.group" for anything the server serves.
std::optional<ResourceType> find_builtin_resource(std::string_view name);

// Resolves a name as kubectl would: built-in first, then the qualified
// forms, then the server's discovery documents (fetched lazily by
// `discover`, which may throw). nullopt: no such resource.
std::optional<ResourceType> resolve_resource(
    std::string_view name, const std::function<std::vector<DiscoveredResource>()>& discover);

// Whether `name`, as resolve_resource takes it, names `type`: a qualified
// name by its group, resource and (when given) version; a plain one when it
// is the plural or the lower-case kind (so a custom resource is named
// without a server), else as resolve_resource resolves it.
bool names_resource(std::string_view name, const ResourceType& type,
                    const std::function<std::vector<DiscoveredResource>()>& discover);

}  // namespace kv::watch
