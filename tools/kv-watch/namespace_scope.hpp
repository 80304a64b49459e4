// Which namespaces kv-watch watches: -n/--namespace, --namespaces and
// --exclude-namespaces, with kube-state-metrics' meaning.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kv::watch {

struct NamespaceScope {
  // Watched one by one (a list and a watch each, per namespaced resource);
  // empty: all namespaces at once.
  std::vector<std::string> namespaces;
  // Left out with a metadata.namespace!= field selector; only when all
  // namespaces are watched, since a namespace list already leaves them out.
  std::vector<std::string> excluded;
};

// "" when `name` can be a namespace (a DNS-1123 label), else why not.
std::string check_namespace_name(std::string_view name);

// From -n (`one`, may be empty), --namespaces and --exclude-namespaces:
// -n is a one-namespace --namespaces, both may be given. As with
// kube-state-metrics, both lists together watch the namespaces of the first
// that the second does not name. Entries are trimmed, empty ones skipped,
// duplicates dropped. Throws std::invalid_argument with a usage message for
// a name that is no namespace, or when every listed namespace is excluded.
NamespaceScope namespace_scope(const std::string& one, const std::vector<std::string>& include,
                               const std::vector<std::string>& exclude);

}  // namespace kv::watch
