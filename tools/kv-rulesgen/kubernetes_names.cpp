#include "kv-rulesgen/kubernetes_names.hpp"

#include <regex>

namespace kv::rulesgen {

namespace {

bool matches(std::string_view s, const char* pattern) {
  return std::regex_match(s.begin(), s.end(), std::regex(pattern));
}

constexpr const char* kDns1123Label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
constexpr const char* kDns1123Subdomain =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
constexpr const char* kQualifiedNamePart = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";

}  // namespace

std::string check_namespace_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !matches(s, kDns1123Label))
    return "a namespace is 1 to 63 lower-case letters, digits and '-', starting and ending "
           "with a letter or digit";
  return "";
}

std::string check_object_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || !matches(s, kDns1123Subdomain))
    return "a name is up to 253 lower-case letters, digits, '-' and '.', starting and ending "
           "with a letter or digit";
  return "";
}

std::string check_label_key(std::string_view s) {
  std::string_view name = s;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253 || !matches(prefix, kDns1123Subdomain))
      return "a label key's prefix must be a DNS subdomain (like example.com)";
  }
  if (name.empty() || name.size() > 63 || !matches(name, kQualifiedNamePart))
    return "a label key's name is 1 to 63 letters, digits, '-', '_' and '.', starting and "
           "ending with a letter or digit";
  return "";
}

std::string check_label_value(std::string_view s) {
  if (s.size() > 63 || (!s.empty() && !matches(s, kQualifiedNamePart)))
    return "a label value is up to 63 letters, digits, '-', '_' and '.', starting and ending "
           "with a letter or digit";
  return "";
}

}  // namespace kv::rulesgen
