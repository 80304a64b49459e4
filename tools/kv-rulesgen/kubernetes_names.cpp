#include "kv-rulesgen/kubernetes_names.hpp"

#include <algorithm>

namespace kv::rulesgen {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool dns1123_label(std::string_view s) {
  return !s.empty() && lower_alnum(s.front()) && lower_alnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

// DNS-1123 labels joined by dots.
bool dns1123_subdomain(std::string_view s) {
  for (;;) {
    std::size_t dot = s.find('.');
    if (!dns1123_label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool qualified_name_part(std::string_view s) {
  return !s.empty() && alnum(s.front()) && alnum(s.back()) &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::string check_namespace_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !dns1123_label(s))
    return "a namespace is 1 to 63 lower-case letters, digits and '-', starting and ending "
           "with a letter or digit";
  return "";
}

std::string check_object_name(std::string_view s) {
  if (s.empty() || s.size() > 253 || !dns1123_subdomain(s))
    return "a name is up to 253 lower-case letters, digits, '-' and '.', starting and ending "
           "with a letter or digit";
  return "";
}

std::string check_label_key(std::string_view s) {
  std::string_view name = s;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = s.substr(0, slash);
    name = s.substr(slash + 1);
    if (prefix.empty() || prefix.size() > 253 || !dns1123_subdomain(prefix))
      return "a label key's prefix must be a DNS subdomain (like example.com)";
  }
  if (name.empty() || name.size() > 63 || !qualified_name_part(name))
    return "a label key's name is 1 to 63 letters, digits, '-', '_' and '.', starting and "
           "ending with a letter or digit";
  return "";
}

std::string check_label_value(std::string_view s) {
  if (s.size() > 63 || (!s.empty() && !qualified_name_part(s)))
    return "a label value is up to 63 letters, digits, '-', '_' and '.', starting and ending "
           "with a letter or digit";
  return "";
}

}  // namespace kv::rulesgen
