// Kubernetes' rules for the names kv-rulesgen writes into a manifest
// (k8s.io/apimachinery validation): a namespace is a DNS-1123 label, an
// object name a DNS-1123 subdomain, and label keys and values have their
// own syntax. Each returns an empty string when the name is valid, else
// why it is not.
#pragma once

#include <string>
#include <string_view>

namespace kv::rulesgen {

std::string check_namespace_name(std::string_view s);
std::string check_object_name(std::string_view s);
std::string check_label_key(std::string_view s);
std::string check_label_value(std::string_view s);

}  // namespace kv::rulesgen
