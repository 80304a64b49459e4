#include "kv-watch/namespace_scope.hpp"

#include <algorithm>

namespace kv::watch {
namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Trimmed, valid, without empty entries or repeats, in the given order.
std::vector<std::string> clean(const std::vector<std::string>& names, std::string_view option) {
  std::vector<std::string> out;
  for (const auto& raw : names) {
    std::string_view name = trim(raw);
    if (name.empty()) continue;
    if (auto why = check_namespace_name(name); !why.empty())
      throw std::invalid_argument(std::string(option) + ": \"" + std::string(name) + "\": " + why);
    if (std::find(out.begin(), out.end(), name) == out.end()) out.emplace_back(name);
  }
  return out;
}

}  // namespace

std::string check_namespace_name(std::string_view s) {
  if (s.empty() || s.size() > 63 || !lower_alnum(s.front()) || !lower_alnum(s.back()) ||
      !std::all_of(s.begin(), s.end(), [](char c) { return lower_alnum(c) || c == '-'; }))
    return "a namespace is 1 to 63 lower-case letters, digits and '-', starting and ending "
           "with a letter or digit";
  return "";
}

NamespaceScope namespace_scope(const std::string& one, const std::vector<std::string>& include,
                               const std::vector<std::string>& exclude) {
  NamespaceScope scope;
  std::vector<std::string> wanted = clean({one}, "--namespace");
  for (auto& ns : clean(include, "--namespaces"))
    if (std::find(wanted.begin(), wanted.end(), ns) == wanted.end()) wanted.push_back(std::move(ns));
  std::vector<std::string> unwanted = clean(exclude, "--exclude-namespaces");
  if (wanted.empty()) {
    scope.excluded = std::move(unwanted);
    return scope;
  }
  for (auto& ns : wanted)
    if (std::find(unwanted.begin(), unwanted.end(), ns) == unwanted.end()) scope.namespaces.push_back(ns);
  if (scope.namespaces.empty())
    throw std::invalid_argument("--exclude-namespaces leaves out every namespace that --namespaces "
                                "(or -n) names; nothing would be watched");
  return scope;
}

}  // namespace kv::watch
