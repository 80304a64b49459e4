#include "kube_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace kv {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::optional<std::string> base64_decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    int v = value(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// One kubeconfig, or several merged: named entries, first definition wins.
struct Kubeconfig {
  struct Entry {
    YAML::Node node;
    std::string file;
  };
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  std::string files;  // for messages
};

std::string where(const std::string& file, const YAML::Node& node) {
  const auto& m = node.Mark();
  if (m.line < 0) return file;
  return file + ":" + std::to_string(m.line + 1);
}

void merge_file(Kubeconfig& kc, const std::string& text, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw KubeConfigError(path + ":" + std::to_string(e.mark.line + 1) +
                          ": not a valid kubeconfig (YAML): " + e.msg);
  }
  if (root.IsNull()) return;  // an empty file is allowed, as kubectl allows it
  if (!root.IsMap())
    throw KubeConfigError(where(path, root) + ": not a kubeconfig: expected a mapping with "
                          "clusters, users and contexts");
  auto collect = [&](const char* list, const char* inner, std::map<std::string, Kubeconfig::Entry>& into) {
    auto seq = root[list];
    if (!seq || seq.IsNull()) return;
    if (!seq.IsSequence())
      throw KubeConfigError(where(path, seq) + ": \"" + list + "\" must be a list");
    for (const auto& item : seq) {
      auto name = item["name"];
      if (!name || !name.IsScalar())
        throw KubeConfigError(where(path, item) + ": an entry of \"" + list + "\" has no name");
      auto body = item[inner];
      if (!body || !body.IsMap())
        throw KubeConfigError(where(path, item) + ": " + list + " entry \"" + name.as<std::string>() +
                              "\" has no \"" + inner + "\" mapping");
      into.emplace(name.as<std::string>(), Kubeconfig::Entry{body, path});
    }
  };
  try {
    collect("clusters", "cluster", kc.clusters);
    collect("users", "user", kc.users);
    collect("contexts", "context", kc.contexts);
    if (kc.current_context.empty())
      if (auto cc = root["current-context"]; cc && cc.IsScalar()) kc.current_context = cc.as<std::string>();
  } catch (const YAML::Exception& e) {
    throw KubeConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  kc.files += kc.files.empty() ? path : ", " + path;
}

std::string scalar(const YAML::Node& map, const char* key) {
  auto n = map[key];
  if (!n || n.IsNull()) return {};
  if (!n.IsScalar()) throw KubeConfigError(std::string("\"") + key + "\" must be a string");
  return n.as<std::string>();
}

// Relative paths in a kubeconfig are relative to the file that holds them.
std::string path_from(const std::string& value, const std::string& file) {
  if (value.empty() || fs::path(value).is_absolute()) return value;
  return (fs::path(file).parent_path() / value).string();
}

std::string decoded(const YAML::Node& map, const char* key, const std::string& file) {
  auto text = scalar(map, key);
  if (text.empty()) return {};
  auto out = base64_decode(text);
  if (!out) throw KubeConfigError(where(file, map[key]) + ": \"" + key + "\" is not base64");
  return *out;
}

KubeAccess access_from(const Kubeconfig& kc, const std::string& wanted_context) {
  std::string context_name = wanted_context.empty() ? kc.current_context : wanted_context;
  if (context_name.empty())
    throw KubeConfigError(kc.files + ": no current-context; pass --context NAME");
  auto ctx = kc.contexts.find(context_name);
  if (ctx == kc.contexts.end())
    throw KubeConfigError(kc.files + ": no context named \"" + context_name + "\"");
  KubeAccess a;
  a.origin = "kubeconfig " + kc.files + ", context " + context_name;
  try {
    const auto& c = ctx->second.node;
    std::string cluster_name = scalar(c, "cluster");
    std::string user_name = scalar(c, "user");
    if (auto ns = scalar(c, "namespace"); !ns.empty()) a.default_namespace = ns;
    auto cluster = kc.clusters.find(cluster_name);
    if (cluster == kc.clusters.end())
      throw KubeConfigError(where(ctx->second.file, c) + ": context \"" + context_name +
                            "\" refers to cluster \"" + cluster_name + "\", which is not defined");
    const auto& cl = cluster->second.node;
    const auto& cf = cluster->second.file;
    a.server = scalar(cl, "server");
    if (a.server.empty())
      throw KubeConfigError(where(cf, cl) + ": cluster \"" + cluster_name + "\" has no server");
    a.ca_file = path_from(scalar(cl, "certificate-authority"), cf);
    a.ca_data = decoded(cl, "certificate-authority-data", cf);
    if (auto n = cl["insecure-skip-tls-verify"]; n && n.IsScalar()) a.insecure_skip_tls_verify = n.as<bool>();
    if (user_name.empty()) return a;
    auto user = kc.users.find(user_name);
    if (user == kc.users.end())
      throw KubeConfigError(where(ctx->second.file, c) + ": context \"" + context_name +
                            "\" refers to user \"" + user_name + "\", which is not defined");
    const auto& u = user->second.node;
    const auto& uf = user->second.file;
    if (u["exec"] || u["auth-provider"])
      throw KubeConfigError(where(uf, u) + ": user \"" + user_name +
                            "\" uses a credential plugin (exec/auth-provider), which kv-watch does "
                            "not run; give it a token, token file or client certificate");
    a.token = scalar(u, "token");
    a.token_file = path_from(scalar(u, "tokenFile"), uf);
    a.client_cert_file = path_from(scalar(u, "client-certificate"), uf);
    a.client_cert_data = decoded(u, "client-certificate-data", uf);
    a.client_key_file = path_from(scalar(u, "client-key"), uf);
    a.client_key_data = decoded(u, "client-key-data", uf);
    a.username = scalar(u, "username");
    a.password = scalar(u, "password");
  } catch (const YAML::Exception& e) {
    throw KubeConfigError(kc.files + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return a;
}

KubeAccess in_cluster_access(const KubeEnvironment& env) {
  auto host = env.getenv("KUBERNETES_SERVICE_HOST").value_or("");
  auto port = env.getenv("KUBERNETES_SERVICE_PORT").value_or("443");
  KubeAccess a;
  a.origin = "in-cluster service account " + env.service_account_dir;
  // An IPv6 service address needs brackets in a URL.
  a.server = "https://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  a.token_file = env.service_account_dir + "/token";
  a.ca_file = env.service_account_dir + "/ca.crt";
  if (!fs::exists(a.token_file))
    throw KubeConfigError("in-cluster: KUBERNETES_SERVICE_HOST is set but " + a.token_file +
                          " does not exist; mount the service account token or pass --kubeconfig");
  if (auto ns = read_file(env.service_account_dir + "/namespace")) {
    if (auto t = trim(*ns); !t.empty()) a.default_namespace = t;
  }
  return a;
}

Kubeconfig load_kubeconfigs(const std::vector<std::string>& paths, bool must_exist) {
  Kubeconfig kc;
  for (const auto& p : paths) {
    auto text = read_file(p);
    if (!text) {
      if (must_exist) throw KubeConfigError(p + ": cannot read the kubeconfig");
      continue;
    }
    merge_file(kc, *text, p);
  }
  return kc;
}

}  // namespace

KubeEnvironment KubeEnvironment::from_process() {
  KubeEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  // Where the service account is mounted; only tests and unusual mounts change it.
  if (auto dir = env.getenv("KV_SERVICE_ACCOUNT_DIR")) env.service_account_dir = *dir;
  return env;
}

KubeAccess kube_access_from_kubeconfig(const std::string& text, const std::string& path,
                                       const std::string& context) {
  Kubeconfig kc;
  merge_file(kc, text, path);
  return access_from(kc, context);
}

KubeAccess resolve_kube_access(const KubeAccessOverrides& o, const KubeEnvironment& env) {
  KubeAccess a;
  if (!o.server.empty() && o.kubeconfig.empty() && !env.getenv("KUBECONFIG")) {
    a.origin = "--server";
  } else if (!o.kubeconfig.empty()) {
    a = access_from(load_kubeconfigs({o.kubeconfig}, true), o.context);
  } else if (auto list = env.getenv("KUBECONFIG")) {
    std::vector<std::string> paths;
    std::stringstream ss(*list);
    for (std::string p; std::getline(ss, p, ':');)
      if (!p.empty()) paths.push_back(p);
    auto kc = load_kubeconfigs(paths, false);
    if (kc.files.empty()) throw KubeConfigError("KUBECONFIG=" + *list + ": none of these files can be read");
    a = access_from(kc, o.context);
  } else if (env.getenv("KUBERNETES_SERVICE_HOST")) {
    a = in_cluster_access(env);
  } else if (auto home = env.getenv("HOME"); home && fs::exists(*home + "/.kube/config")) {
    a = access_from(load_kubeconfigs({*home + "/.kube/config"}, true), o.context);
  } else if (o.server.empty()) {
    throw KubeConfigError("no Kubernetes API configured: not in a cluster, no $KUBECONFIG and "
                          "no ~/.kube/config; pass --kubeconfig FILE or --server URL");
  }
  if (!o.server.empty()) a.server = o.server;
  if (!o.token_file.empty()) {
    a.token_file = o.token_file;
    a.token.clear();
  }
  if (!o.ca_file.empty()) {
    a.ca_file = o.ca_file;
    a.ca_data.clear();
  }
  if (o.insecure) a.insecure_skip_tls_verify = true;
  while (!a.server.empty() && a.server.back() == '/') a.server.pop_back();
  if (a.server.rfind("https://", 0) != 0 && a.server.rfind("http://", 0) != 0)
    throw KubeConfigError(a.origin + ": server \"" + a.server +
                          "\" is not an http:// or https:// URL");
  return a;
}

}  // namespace kv
