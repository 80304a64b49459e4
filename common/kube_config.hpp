// Where the Kubernetes API is and how to authenticate to it, found the way
// kubectl and client-go find it: flags, a kubeconfig, or the pod's service
// account.
#pragma once
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace kv {

// Everything needed to open a connection. Secrets (token, key data) are kept
// here only; nothing that formats a KubeAccess for a message prints them.
struct KubeAccess {
  std::string server;  // "https://host:port" or "http://127.0.0.1:8001"
  std::string ca_file;
  std::string ca_data;  // PEM, from certificate-authority-data
  bool insecure_skip_tls_verify = false;
  std::string token;       // a fixed bearer token
  std::string token_file;  // re-read when it changes (bound tokens rotate)
  std::string client_cert_file, client_cert_data;
  std::string client_key_file, client_key_data;
  std::string username, password;  // basic auth, still allowed by kubeconfig
  std::string default_namespace = "default";
  std::string origin;  // for messages: "kubeconfig /path, context ctx" or "in-cluster"
};

// The command line's say, which wins over any file.
struct KubeAccessOverrides {
  std::string kubeconfig;  // --kubeconfig
  std::string context;     // --context
  std::string server;      // --server
  std::string token_file;  // --token-file
  std::string ca_file;     // --ca-file
  bool insecure = false;   // --insecure-skip-tls-verify
};

// What the process environment provides; injectable for tests.
struct KubeEnvironment {
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  static KubeEnvironment from_process();
};

// A kubeconfig or in-cluster setting that cannot be used; the message says
// which file, which entry and what to do.
struct KubeConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Order: --server alone (e.g. behind `kubectl proxy`), --kubeconfig,
// $KUBECONFIG (a list, merged first-wins like kubectl), the in-cluster
// service account when KUBERNETES_SERVICE_HOST is set, ~/.kube/config.
// Overrides then replace single fields. Throws KubeConfigError.
KubeAccess resolve_kube_access(const KubeAccessOverrides& overrides, const KubeEnvironment& env);

// Parses kubeconfig text (for tests and for resolve_kube_access); `path`
// names the file in messages and anchors relative paths.
KubeAccess kube_access_from_kubeconfig(const std::string& text, const std::string& path,
                                       const std::string& context);

}  // namespace kv
