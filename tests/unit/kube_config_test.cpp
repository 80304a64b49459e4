// How kv-watch finds the API: kubeconfig parsing, merging and overrides,
// in-cluster files, and the errors for files it cannot use.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "kube_config.hpp"

namespace kv {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
- name: other
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: ca/other.crt
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: s3cret-token
- name: robot
  user:
    tokenFile: robot.token
    client-certificate: certs/robot.crt
    client-key-data: a2V5
contexts:
- name: lab
  context: {cluster: lab-cluster, user: admin, namespace: vms}
- name: other
  context: {cluster: other, user: robot}
- name: broken
  context: {cluster: nowhere, user: admin}
)";

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/kv-kubeconfig-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    fs::create_directories((path / name).parent_path());
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

KubeEnvironment env_with(std::map<std::string, std::string> vars, std::string sa_dir = "/nonexistent") {
  KubeEnvironment env;
  env.getenv = [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.service_account_dir = std::move(sa_dir);
  return env;
}

TEST(KubeConfig, CurrentContextGivesServerCaTokenAndNamespace) {
  auto a = kube_access_from_kubeconfig(kConfig, "/home/u/.kube/config", "");
  EXPECT_EQ(a.server, "https://127.0.0.1:6443/");
  EXPECT_EQ(a.ca_data, "-----BEGIN CERTIFICATE-----\n");
  EXPECT_EQ(a.token, "s3cret-token");
  EXPECT_EQ(a.default_namespace, "vms");
  EXPECT_FALSE(a.insecure_skip_tls_verify);
  EXPECT_EQ(a.origin, "kubeconfig /home/u/.kube/config, context lab");
}

TEST(KubeConfig, OtherContextResolvesRelativePathsAgainstTheFile) {
  auto a = kube_access_from_kubeconfig(kConfig, "/etc/kv/config", "other");
  EXPECT_EQ(a.ca_file, "/etc/kv/ca/other.crt");
  EXPECT_EQ(a.token_file, "/etc/kv/robot.token");
  EXPECT_EQ(a.client_cert_file, "/etc/kv/certs/robot.crt");
  EXPECT_EQ(a.client_key_data, "key");
  EXPECT_TRUE(a.insecure_skip_tls_verify);
  EXPECT_EQ(a.default_namespace, "default");
}

TEST(KubeConfig, ErrorsNameTheFileTheEntryAndTheFix) {
  auto message = [](const std::string& text, const std::string& ctx) {
    try {
      kube_access_from_kubeconfig(text, "/k/config", ctx);
    } catch (const KubeConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(kConfig, "missing"), "/k/config: no context named \"missing\"");
  EXPECT_EQ(message(kConfig, "broken"),
            "/k/config:29: context \"broken\" refers to cluster \"nowhere\", which is not defined");
  EXPECT_EQ(message("clusters: [a\n", ""),
            "/k/config:2: not a valid kubeconfig (YAML): end of sequence flow not found");
  EXPECT_EQ(message("- just\n- a list\n", ""),
            "/k/config:1: not a kubeconfig: expected a mapping with clusters, users and contexts");
  EXPECT_EQ(message("contexts: []\n", ""), "/k/config: no current-context; pass --context NAME");
  EXPECT_NE(message("users:\n- name: x\n  user:\n    exec: {command: aws}\ncontexts:\n- name: c\n"
                    "  context: {cluster: k, user: x}\nclusters:\n- name: k\n  cluster: {server: https://h}\n",
                    "c")
                .find("credential plugin"),
            std::string::npos);
  EXPECT_EQ(message("clusters:\n- name: k\n  cluster:\n    server: https://h\n"
                    "    certificate-authority-data: '!!!'\ncontexts:\n- name: c\n  context: {cluster: k}\n",
                    "c"),
            "/k/config:5: \"certificate-authority-data\" is not base64");
}

TEST(KubeConfig, TheTokenNeverAppearsInAnError) {
  std::string text = std::string(kConfig) + "- name: bad\n  context: {cluster: lab-cluster, user: nobody}\n";
  try {
    kube_access_from_kubeconfig(text, "/k/config", "bad");
    FAIL() << "expected an error";
  } catch (const KubeConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

TEST(KubeAccessResolution, ServerFlagAloneNeedsNoKubeconfig) {
  KubeAccessOverrides o;
  o.server = "http://127.0.0.1:8001/";
  auto a = resolve_kube_access(o, env_with({}));
  EXPECT_EQ(a.server, "http://127.0.0.1:8001");
  EXPECT_EQ(a.origin, "--server");
}

TEST(KubeAccessResolution, KubeconfigListMergesFirstWins) {
  TempDir dir;
  auto first = dir.write("a", "current-context: lab\nclusters:\n- name: lab-cluster\n  cluster: {server: https://first:1}\n");
  auto second = dir.write("b", kConfig);
  auto a = resolve_kube_access({}, env_with({{"KUBECONFIG", first + ":" + dir.path.string() + "/missing:" + second}}));
  EXPECT_EQ(a.server, "https://first:1");
  EXPECT_EQ(a.token, "s3cret-token");  // the user comes from the second file
}

TEST(KubeAccessResolution, FlagsOverrideFileFields) {
  TempDir dir;
  auto cfg = dir.write("config", kConfig);
  KubeAccessOverrides o;
  o.kubeconfig = cfg;
  o.context = "lab";
  o.token_file = "/run/token";
  o.ca_file = "/run/ca.crt";
  o.server = "https://override:6443";
  auto a = resolve_kube_access(o, env_with({}));
  EXPECT_EQ(a.server, "https://override:6443");
  EXPECT_EQ(a.token_file, "/run/token");
  EXPECT_TRUE(a.token.empty());
  EXPECT_EQ(a.ca_file, "/run/ca.crt");
  EXPECT_TRUE(a.ca_data.empty());
}

TEST(KubeAccessResolution, InClusterUsesTheServiceAccountFiles) {
  TempDir dir;
  dir.write("token", "tok\n");
  dir.write("ca.crt", "pem");
  dir.write("namespace", "kubevirt\n");
  auto a = resolve_kube_access(
      {}, env_with({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}, dir.path));
  EXPECT_EQ(a.server, "https://[fd00::1]:443");
  EXPECT_EQ(a.token_file, (dir.path / "token").string());
  EXPECT_EQ(a.ca_file, (dir.path / "ca.crt").string());
  EXPECT_EQ(a.default_namespace, "kubevirt");
}

TEST(KubeAccessResolution, InClusterWithoutTokenIsAClearError) {
  try {
    resolve_kube_access({}, env_with({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}}, "/nonexistent/sa"));
    FAIL();
  } catch (const KubeConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "in-cluster: KUBERNETES_SERVICE_HOST is set but /nonexistent/sa/token does not exist; "
                 "mount the service account token or pass --kubeconfig");
  }
}

TEST(KubeAccessResolution, NothingConfiguredSaysWhatToPass) {
  EXPECT_THROW(resolve_kube_access({}, env_with({{"HOME", "/nonexistent"}})), KubeConfigError);
  KubeAccessOverrides o;
  o.server = "127.0.0.1:6443";
  try {
    resolve_kube_access(o, env_with({}));
    FAIL();
  } catch (const KubeConfigError& e) {
    EXPECT_STREQ(e.what(), "--server: server \"127.0.0.1:6443\" is not an http:// or https:// URL");
  }
}

}  // namespace
}  // namespace kv
