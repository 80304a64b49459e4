// kv-watch's pure parts: resource names, pruned objects in the cache, and
// event records.
#include <gtest/gtest.h>

#include "kv-watch/event_stream.hpp"
#include "kv-watch/object_cache.hpp"
#include "kv-watch/resource_types.hpp"
#include "kv-watch/sharding.hpp"

namespace kv::watch {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& p, const std::string& json) {
  return p.parse(json).value();
}

TEST(ResourceNames, KubectlNamesShortNamesAndQualifiedForms) {
  for (const char* name : {"vmis", "vmi", "VirtualMachineInstance", "virtualmachineinstances",
                           "kubevirt.io/v1/virtualmachineinstances", "virtualmachineinstances.v1.kubevirt.io",
                           "virtualmachineinstances.kubevirt.io"}) {
    auto t = resolve_resource(name, nullptr);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(t->id(), "kubevirt.io/v1/virtualmachineinstances") << name;
  }
  EXPECT_EQ(resolve_resource("vm", nullptr)->kind, "VirtualMachine");
  EXPECT_EQ(resolve_resource("vmim", nullptr)->resource, "virtualmachineinstancemigrations");
  EXPECT_EQ(resolve_resource("po", nullptr)->id(), "v1/pods");
  EXPECT_EQ(resolve_resource("v1/pods", nullptr)->id(), "v1/pods");
  EXPECT_FALSE(resolve_resource("nonsense", nullptr));
}

TEST(ResourceNames, UnknownNamesGoToDiscovery) {
  int calls = 0;
  auto discover = [&] {
    ++calls;
    DiscoveredResource d;
    d.type = {"cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume", true};
    d.singular = "datavolume";
    d.short_names = {"dv"};
    return std::vector<DiscoveredResource>{d};
  };
  EXPECT_EQ(resolve_resource("dv", discover)->id(), "cdi.kubevirt.io/v1beta1/datavolumes");
  EXPECT_EQ(resolve_resource("vmis", discover)->id(), "kubevirt.io/v1/virtualmachineinstances");
  EXPECT_EQ(calls, 1);  // built-in names need no server
  EXPECT_FALSE(resolve_resource("nope", discover));
}

TEST(ResourceNames, CollectionPaths) {
  auto vmi = *find_builtin_resource("vmi");
  EXPECT_EQ(vmi.collection_path(""), "/apis/kubevirt.io/v1/virtualmachineinstances");
  EXPECT_EQ(vmi.collection_path("ns1"), "/apis/kubevirt.io/v1/namespaces/ns1/virtualmachineinstances");
  auto node = *find_builtin_resource("nodes");
  EXPECT_EQ(node.collection_path("ns1"), "/api/v1/nodes");
}

constexpr const char* kVmi =
    R"({"apiVersion":"kubevirt.io/v1","kind":"VirtualMachineInstance","metadata":{"name":"a","namespace":"n",)"
    R"("uid":"u1","resourceVersion":"7","labels":{"x":"y"},"managedFields":[{"big":1}]},)"
    R"("spec":{"domain":{}},"status":{"phase":"Running","interfaces":[{"ipAddress":"10.0.0.1","mac":"m"},)"
    R"({"ipAddress":"10.0.0.2","mac":"n"}],"nodeName":"node01"}})";

TEST(FieldSelection, DefaultKeepsIdentityOnly) {
  simdjson::dom::parser p;
  std::string out;
  FieldSelection().prune(parse(p, kVmi), out);
  EXPECT_EQ(out, R"({"metadata":{"name":"a","namespace":"n","uid":"u1","resourceVersion":"7"}})");
}

TEST(FieldSelection, PathsKeepSubtreesAndWalkLists) {
  simdjson::dom::parser p;
  std::string out;
  FieldSelection({"metadata.labels", "status.phase", "status.interfaces.ipAddress", "status.phase.deeper"})
      .prune(parse(p, kVmi), out);
  EXPECT_EQ(out,
            R"({"metadata":{"labels":{"x":"y"}},"status":{"phase":"Running",)"
            R"("interfaces":[{"ipAddress":"10.0.0.1"},{"ipAddress":"10.0.0.2"}]}})");
}

TEST(ObjectCache, UpsertTracksVersionsAndEraseReturnsThePrunedCopy) {
  simdjson::dom::parser p;
  ObjectCache cache{FieldSelection()};
  EXPECT_EQ(cache.upsert(parse(p, kVmi)), EventType::added);
  EXPECT_EQ(cache.upsert(parse(p, kVmi)), std::nullopt);  // same resourceVersion
  std::string v8 = kVmi;
  v8.replace(v8.find("\"7\""), 3, "\"8\"");
  EXPECT_EQ(cache.upsert(parse(p, v8)), EventType::modified);
  EXPECT_EQ(cache.find("n/a")->resource_version, "8");
  std::unordered_map<std::string, bool> present{{"n/b", true}};
  EXPECT_EQ(cache.missing_from(present), std::vector<std::string>{"n/a"});
  auto erased = cache.erase("n/a");
  ASSERT_TRUE(erased);
  EXPECT_NE(erased->find("\"uid\":\"u1\""), std::string::npos);
  EXPECT_FALSE(cache.erase("n/a"));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(FieldSelection, ScalarsAreWrittenAsTheyParse) {
  simdjson::dom::parser p;
  // Each kind of scalar, a string that needs escapes, and one in UTF-8.
  const std::string object =
      R"({"metadata":{"name":"a\"b\\c\nd\u0001","namespace":"n\u00e9","generation":3,"big":18446744073709551615,)"
      R"("neg":-12,"f":1.5e-7,"t":true,"no":false,"nil":null,"skip":"x","q":"say \"hi\"","c":"\t"}})";
  FieldSelection fields({"metadata.name", "metadata.namespace", "metadata.generation", "metadata.big",
                         "metadata.neg", "metadata.f", "metadata.t", "metadata.no", "metadata.nil",
                         "metadata.q", "metadata.c"});
  std::string out;
  fields.prune(parse(p, object), out);
  EXPECT_EQ(out, R"({"metadata":{"name":"a\"b\\c\nd\u0001","namespace":")"
                 "n\xc3\xa9"
                 R"(","generation":3,"big":18446744073709551615,"neg":-12,"f":1.5e-07,"t":true,"no":false,)"
                 R"("nil":null,"q":"say \"hi\"","c":"\t"}})");
  // What is kept parses to the same values.
  simdjson::dom::parser q;
  auto whole = parse(p, object);
  auto kept = parse(q, out);
  for (const char* key : {"name", "namespace", "generation", "big", "neg", "f", "t", "no", "q", "c"})
    EXPECT_EQ(simdjson::minify(whole["metadata"][key]), simdjson::minify(kept["metadata"][key])) << key;
}

TEST(ObjectKeys, NamespacedAndClusterScoped) {
  simdjson::dom::parser p;
  EXPECT_EQ(object_key(parse(p, R"({"metadata":{"name":"node01"}})")), "node01");
  EXPECT_EQ(object_key(parse(p, R"({"metadata":{"name":"a","namespace":"n"}})")), "n/a");
  EXPECT_EQ(object_key(parse(p, R"({"metadata":{}})")), "");
}

TEST(EventRecords, OneLinePerEvent) {
  std::string out;
  append_event_line(out, "v1/pods", EventType::deleted, R"({"metadata":{"name":"p"}})");
  EXPECT_EQ(out, "{\"type\":\"DELETED\",\"resource\":\"v1/pods\",\"object\":{\"metadata\":{\"name\":\"p\"}}}\n");
}

}  // namespace
}  // namespace kv::watch

namespace kv::watch {
namespace {

// Reference values from Go's hash/fnv and the jump hash as kube-state-metrics
// uses it (github.com/dgryski/go-jump), so that shards here and there agree.
TEST(Sharding, SameBucketsAsKubeStateMetrics) {
  struct Case {
    const char* uid;
    std::uint64_t fnv;
    std::int32_t of2, of3, of10;
  };
  const Case cases[] = {
      {"", 14695981039346656037ULL, 1, 1, 1},
      {"cb495834-47b8-58db-936a-a0c936cf27f9", 16422960006411798599ULL, 1, 1, 8},
      {"97114ee2-7b54-5376-83f9-13d8cd09e58c", 4374418256147247089ULL, 0, 0, 0},
      {"a", 12638187200555641996ULL, 1, 2, 2},
      {"uid-123", 11559887324575822736ULL, 1, 2, 5},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(fnv1a64(c.uid), c.fnv) << c.uid;
    EXPECT_EQ(jump_consistent_hash(c.fnv, 2), c.of2) << c.uid;
    EXPECT_EQ(jump_consistent_hash(c.fnv, 3), c.of3) << c.uid;
    EXPECT_EQ(jump_consistent_hash(c.fnv, 10), c.of10) << c.uid;
    EXPECT_EQ(jump_consistent_hash(c.fnv, 1), 0);
  }
  EXPECT_TRUE((Sharding{0, 1}.keeps("anything")));
  EXPECT_TRUE((Sharding{1, 3}.keeps("cb495834-47b8-58db-936a-a0c936cf27f9")));
  EXPECT_FALSE((Sharding{0, 3}.keeps("cb495834-47b8-58db-936a-a0c936cf27f9")));
}

}  // namespace
}  // namespace kv::watch
