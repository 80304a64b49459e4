// The metric catalog against KubeVirt's reference list
// (../shared/reference/kubevirt-metrics.tsv, or $KV_REFERENCE_DIR), and
// against Prometheus naming where KubeVirt's names allow it.
#include "metric_catalog.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "metric_model.hpp"

namespace kv {
namespace {

struct ReferenceRow {
  std::string name, type, labels, component, source, help;
};

std::filesystem::path reference_tsv() {
  if (const char* dir = std::getenv("KV_REFERENCE_DIR"); dir != nullptr && *dir != '\0')
    return std::filesystem::path(dir) / "kubevirt-metrics.tsv";
  // <root>/tests/unit/this file -> <root>/../shared/reference
  const auto root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return root / ".." / "shared" / "reference" / "kubevirt-metrics.tsv";
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(sep, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// The reference rows by name; a test fails (and gets an empty map) when the
// file is missing or malformed.
const std::map<std::string, ReferenceRow>& reference() {
  static const std::map<std::string, ReferenceRow> rows = [] {
    std::map<std::string, ReferenceRow> out;
    const auto path = reference_tsv();
    std::ifstream in(path);
    if (!in) {
      ADD_FAILURE() << "cannot read " << path << " (set KV_REFERENCE_DIR)";
      return out;
    }
    std::string line;
    std::getline(in, line);
    if (line != "name\ttype\tlabels\tcomponent\tsource\thelp") {
      ADD_FAILURE() << path << ": unexpected header: " << line;
      return out;
    }
    for (int number = 2; std::getline(in, line); ++number) {
      auto f = split(line, '\t');
      if (f.size() != 6) {
        ADD_FAILURE() << path << ":" << number << ": " << f.size() << " columns, want 6";
        continue;
      }
      if (!out.emplace(f[0], ReferenceRow{f[0], f[1], f[2], f[3], f[4], f[5]}).second)
        ADD_FAILURE() << path << ":" << number << ": " << f[0] << " listed twice";
    }
    return out;
  }();
  return rows;
}

// KubeVirt counters whose names lack _total; kept for compatibility.
const std::set<std::string_view> kCountersWithoutTotal = {
    "kubevirt_vm_starting_status_last_transition_timestamp_seconds",
    "kubevirt_vm_running_status_last_transition_timestamp_seconds",
    "kubevirt_vm_migrating_status_last_transition_timestamp_seconds",
    "kubevirt_vm_non_running_status_last_transition_timestamp_seconds",
    "kubevirt_vm_error_status_last_transition_timestamp_seconds",
};

// KubeVirt gauges named _bytes that hold bytes per second.
const std::set<std::string_view> kRatesNamedBytes = {
    "kubevirt_vmi_migration_dirty_memory_rate_bytes",
    "kubevirt_vmi_migration_memory_transfer_rate_bytes",
};

std::string_view without_total(std::string_view name) {
  return name.ends_with("_total") ? name.substr(0, name.size() - 6) : name;
}

TEST(MetricCatalog, HasEveryKubeVirtMetricWithItsNameTypeLabelsAndSource) {
  const auto& ref = reference();
  ASSERT_EQ(ref.size(), 105u);
  for (const auto& [name, row] : ref) {
    const MetricInfo* m = find_metric(name);
    if (m == nullptr) {
      ADD_FAILURE() << name << " is in the reference but not in the catalog";
      continue;
    }
    EXPECT_EQ(to_string(m->type), row.type) << name;
    EXPECT_EQ(m->labels, row.labels) << name;
    EXPECT_EQ(to_string(m->source), row.source) << name;
  }
}

TEST(MetricCatalog, HasNoKubeVirtMetricTheReferenceLacks) {
  const auto& ref = reference();
  ASSERT_FALSE(ref.empty());
  for (const MetricInfo& m : metric_catalog()) {
    if (m.source == MetricSource::self) {
      EXPECT_TRUE(m.name.starts_with("kv_")) << m.name;
      EXPECT_FALSE(ref.contains(std::string(m.name))) << m.name;
    } else {
      EXPECT_TRUE(m.name.starts_with("kubevirt_")) << m.name;
      EXPECT_TRUE(ref.contains(std::string(m.name))) << m.name << " is not in the reference";
    }
  }
}

TEST(MetricCatalog, NamesAreUniqueAndValid) {
  std::set<std::string_view> seen;
  for (const MetricInfo& m : metric_catalog()) {
    EXPECT_TRUE(is_valid_metric_name(m.name)) << m.name;
    EXPECT_TRUE(seen.insert(m.name).second) << m.name << " appears twice";
  }
}

TEST(MetricCatalog, OnlyCountersEndInTotalAndAllDoExceptKubeVirtsOwnNames) {
  for (const MetricInfo& m : metric_catalog()) {
    if (m.type == CatalogType::counter) {
      EXPECT_NE(m.name.ends_with("_total"), kCountersWithoutTotal.contains(m.name)) << m.name;
    } else {
      EXPECT_FALSE(m.name.ends_with("_total")) << m.name;
    }
  }
  for (std::string_view name : kCountersWithoutTotal) {
    const MetricInfo* m = find_metric(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->type, CatalogType::counter) << name;
  }
}

TEST(MetricCatalog, HelpIsOwnWordsOneLineEndingInAPeriod) {
  const auto& ref = reference();
  ASSERT_FALSE(ref.empty());
  for (const MetricInfo& m : metric_catalog()) {
    ASSERT_FALSE(m.help.empty()) << m.name;
    EXPECT_TRUE(m.help.ends_with('.')) << m.name;
    for (char c : m.help)
      EXPECT_TRUE(c >= ' ' && c <= '~') << m.name << ": help is not printable ASCII";
    if (auto it = ref.find(std::string(m.name)); it != ref.end()) {
      EXPECT_NE(m.help, it->second.help) << m.name << ": help copied from KubeVirt";
    }
  }
}

TEST(MetricCatalog, UnitIsTheNameSuffix) {
  const std::set<std::string_view> units = {"", "seconds", "bytes", "bytes_per_second"};
  for (const MetricInfo& m : metric_catalog()) {
    EXPECT_TRUE(units.contains(m.unit)) << m.name << ": unit " << m.unit;
    const std::string_view base = without_total(m.name);
    if (kRatesNamedBytes.contains(m.name)) {
      EXPECT_EQ(m.unit, "bytes_per_second") << m.name;
      continue;
    }
    if (m.unit.empty()) {
      for (std::string_view u : units) {
        if (u.empty()) continue;
        EXPECT_FALSE(base.ends_with("_" + std::string(u))) << m.name << " needs unit " << u;
      }
    } else {
      EXPECT_TRUE(base.ends_with("_" + std::string(m.unit))) << m.name << ": unit " << m.unit;
    }
  }
}

TEST(MetricCatalog, LabelsAreValidAndDistinct) {
  for (const MetricInfo& m : metric_catalog()) {
    if (m.labels.empty()) continue;
    std::set<std::string> seen;
    for (const std::string& label : split(m.labels, ',')) {
      std::string_view name = label;
      if (name.ends_with("_*")) name.remove_suffix(2);  // a family: prefix_<key>
      EXPECT_TRUE(is_valid_label_name(name)) << m.name << ": label " << label;
      EXPECT_FALSE(is_reserved_label_name(name)) << m.name << ": label " << label;
      EXPECT_TRUE(seen.insert(label).second) << m.name << ": label " << label << " twice";
    }
  }
}

TEST(MetricCatalog, FindMetricFindsEveryRowAndNothingElse) {
  for (const MetricInfo& m : metric_catalog()) EXPECT_EQ(find_metric(m.name), &m) << m.name;
  for (std::string_view unknown :
       {"", "kubevirt", "kubevirt_vmi", "kubevirt_vmi_memory_resident",
        "kubevirt_vmi_memory_resident_bytes_", "KUBEVIRT_INFO", "zzz", "kv_promfmt_samples_total"})
    EXPECT_EQ(find_metric(unknown), nullptr) << unknown;
}

TEST(MetricCatalog, MetricIdFollowsRowOrder) {
  const auto catalog = metric_catalog();
  ASSERT_FALSE(catalog.empty());
  EXPECT_EQ(&metric_info(MetricId::kubevirt_vmi_memory_resident_bytes), &catalog.front());
  EXPECT_EQ(&metric_info(MetricId::kv_watch_metric_errors_total), &catalog.back());
  const MetricInfo& cpu = metric_info(MetricId::kubevirt_vmi_cpu_usage_seconds_total);
  EXPECT_EQ(cpu.name, "kubevirt_vmi_cpu_usage_seconds_total");
  EXPECT_EQ(cpu.type, CatalogType::counter);
  EXPECT_EQ(cpu.unit, "seconds");
  EXPECT_EQ(cpu.source, MetricSource::libvirt_domstats);
}

TEST(MetricCatalog, SelfMetricsMatchKvPromfmt) {
  struct Want {
    std::string_view name;
    MetricType type;
    std::string_view labels;
  };
  const Want want[] = {
      {"kv_promfmt_snapshots_published_total", MetricType::counter, "input"},
      {"kv_promfmt_samples", MetricType::gauge, "input"},
      {"kv_promfmt_duplicate_series_total", MetricType::counter, "input"},
      {"kv_promfmt_last_snapshot_timestamp_seconds", MetricType::gauge, "input"},
      {"kv_promfmt_lines_rejected_total", MetricType::counter, "input,reason"},
      {"kv_promfmt_textfile_write_errors_total", MetricType::counter, ""},
  };
  for (const Want& w : want) {
    const MetricInfo* m = find_metric(w.name);
    ASSERT_NE(m, nullptr) << w.name;
    EXPECT_EQ(m->source, MetricSource::self) << w.name;
    EXPECT_EQ(sample_type(m->type), w.type) << w.name;
    EXPECT_EQ(m->labels, w.labels) << w.name;
  }
}

TEST(MetricCatalog, Words) {
  EXPECT_EQ(to_string(MetricSource::libvirt_domstats), "libvirt-domstats");
  EXPECT_EQ(to_string(MetricSource::k8s_api), "k8s-api");
  EXPECT_EQ(to_string(MetricSource::internal), "internal");
  EXPECT_EQ(to_string(MetricSource::self), "self");
  EXPECT_EQ(to_string(CatalogType::counter), "counter");
  EXPECT_EQ(to_string(CatalogType::gauge), "gauge");
  EXPECT_EQ(to_string(CatalogType::histogram), "histogram");
  EXPECT_EQ(sample_type(CatalogType::counter), MetricType::counter);
  EXPECT_EQ(sample_type(CatalogType::gauge), MetricType::gauge);
  EXPECT_EQ(sample_type(CatalogType::histogram), MetricType::histogram);
}

}  // namespace
}  // namespace kv
