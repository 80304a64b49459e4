#include "kv-watch/resource_types.hpp"

#include <algorithm>
#include <array>

namespace kv::watch {
namespace {

struct Builtin {
  const char* group;
  const char* version;
  const char* resource;
  const char* kind;
  bool namespaced;
  const char* singular;
  std::array<const char*, 3> short_names;
};

// Short names as the API servers announce them (kubectl api-resources).
constexpr Builtin kBuiltins[] = {
    {"", "v1", "pods", "Pod", true, "pod", {"po"}},
    {"", "v1", "nodes", "Node", false, "node", {"no"}},
    {"", "v1", "namespaces", "Namespace", false, "namespace", {"ns"}},
    {"", "v1", "services", "Service", true, "service", {"svc"}},
    {"", "v1", "configmaps", "ConfigMap", true, "configmap", {"cm"}},
    {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true, "persistentvolumeclaim", {"pvc"}},
    {"apps", "v1", "deployments", "Deployment", true, "deployment", {"deploy"}},
    {"apps", "v1", "daemonsets", "DaemonSet", true, "daemonset", {"ds"}},
    {"apps", "v1", "replicasets", "ReplicaSet", true, "replicaset", {"rs"}},
    {"kubevirt.io", "v1", "virtualmachines", "VirtualMachine", true, "virtualmachine", {"vm", "vms"}},
    {"kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance", true,
     "virtualmachineinstance", {"vmi", "vmis"}},
    {"kubevirt.io", "v1", "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration", true,
     "virtualmachineinstancemigration", {"vmim", "vmims"}},
    {"kubevirt.io", "v1", "kubevirts", "KubeVirt", true, "kubevirt", {"kv", "kvs"}},
    {"snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", "VirtualMachineSnapshot", true,
     "virtualmachinesnapshot", {"vmsnapshot", "vmsnapshots"}},
    // What an instancetype and a preference are read from (KubeVirt's VM
    // resource requests): the revisions a VM names, else the live objects.
    {"apps", "v1", "controllerrevisions", "ControllerRevision", true, "controllerrevision", {}},
    {"instancetype.kubevirt.io", "v1beta1", "virtualmachineinstancetypes", "VirtualMachineInstancetype", true,
     "virtualmachineinstancetype", {"vminstancetype", "vminstancetypes", "vmf"}},
    {"instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", "VirtualMachineClusterInstancetype",
     false, "virtualmachineclusterinstancetype", {"vmclusterinstancetype", "vmclusterinstancetypes", "vmcf"}},
    {"instancetype.kubevirt.io", "v1beta1", "virtualmachinepreferences", "VirtualMachinePreference", true,
     "virtualmachinepreference", {"vmpref", "vmprefs", "vmp"}},
    {"instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterpreferences", "VirtualMachineClusterPreference",
     false, "virtualmachineclusterpreference", {"vmcp", "vmcps"}},
};

ResourceType to_type(const Builtin& b) {
  return {b.group, b.version, b.resource, b.kind, b.namespaced};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "g/v/r", "v/r" (core) or "r.v.g" / "r.g" into parts; nullopt otherwise.
struct Qualified {
  std::string group, version, resource;  // version may be empty for "r.g"
};
std::optional<Qualified> split_qualified(std::string_view name) {
  auto slash = std::count(name.begin(), name.end(), '/');
  if (slash == 2) {
    auto a = name.find('/'), b = name.rfind('/');
    return Qualified{std::string(name.substr(0, a)), std::string(name.substr(a + 1, b - a - 1)),
                     std::string(name.substr(b + 1))};
  }
  if (slash == 1) {
    auto a = name.find('/');
    return Qualified{"", std::string(name.substr(0, a)), std::string(name.substr(a + 1))};
  }
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string resource(name.substr(0, dot));
  std::string rest(name.substr(dot + 1));
  // "r.v1.g" when the segment after the resource looks like a version.
  auto dot2 = rest.find('.');
  std::string first = rest.substr(0, dot2);
  bool looks_like_version = first.size() >= 2 && first[0] == 'v' && std::isdigit(static_cast<unsigned char>(first[1]));
  if (looks_like_version) return Qualified{dot2 == std::string::npos ? "" : rest.substr(dot2 + 1), first, resource};
  return Qualified{rest, "", resource};
}

}  // namespace

std::string ResourceType::collection_path(std::string_view ns) const {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) path += "/namespaces/" + std::string(ns);
  return path + "/" + resource;
}

std::optional<ResourceType> find_builtin_resource(std::string_view raw) {
  std::string name = lower(raw);
  for (const auto& b : kBuiltins) {
    if (name == b.resource || name == b.singular) return to_type(b);
    for (const char* s : b.short_names)
      if (s && name == s) return to_type(b);
  }
  return std::nullopt;
}

std::optional<ResourceType> resolve_resource(
    std::string_view raw, const std::function<std::vector<DiscoveredResource>()>& discover) {
  if (auto b = find_builtin_resource(raw)) return b;
  std::string name = lower(raw);
  auto q = split_qualified(name);
  if (q) {
    for (const auto& b : kBuiltins)
      if (q->group == b.group && q->resource == b.resource && (q->version.empty() || q->version == b.version))
        return to_type(b);
  }
  if (!discover) {
    // Without a server (replay) a fully qualified name is taken as given.
    if (q && !q->version.empty()) return ResourceType{q->group, q->version, q->resource, "", true};
    return std::nullopt;
  }
  for (const auto& d : discover()) {
    const auto& t = d.type;
    if (q) {
      if (q->group == t.group && q->resource == t.resource && (q->version.empty() || q->version == t.version))
        return t;
      continue;
    }
    if (name == t.resource || name == d.singular ||
        std::find(d.short_names.begin(), d.short_names.end(), name) != d.short_names.end())
      return t;
  }
  return std::nullopt;
}

bool names_resource(std::string_view raw, const ResourceType& type,
                    const std::function<std::vector<DiscoveredResource>()>& discover) {
  std::string name = lower(raw);
  if (auto q = split_qualified(name))
    return q->group == type.group && q->resource == type.resource &&
           (q->version.empty() || q->version == type.version);
  if (name == type.resource || name == lower(type.kind)) return true;
  auto resolved = resolve_resource(name, discover);
  return resolved && resolved->group == type.group && resolved->resource == type.resource;
}

}  // namespace kv::watch
