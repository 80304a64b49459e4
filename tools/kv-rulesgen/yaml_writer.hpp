// A small YAML writer for generated rule files: block mappings and
// sequences, scalars written plain when that cannot change their meaning,
// as literal blocks when they span lines, and double-quoted otherwise.
#pragma once

#include <string>
#include <string_view>

namespace kv::rulesgen {

// True when `s` can be written as a plain scalar and reads back as the same
// string, to YAML 1.1 and 1.2 readers alike ("true", "10", "0.75" cannot).
bool plain_scalar_ok(std::string_view s);

// `s` as a double-quoted scalar.
std::string double_quoted(std::string_view s);

class YamlWriter {
 public:
  // `key: value`, at `indent` spaces; a value with newlines becomes a
  // literal block (indented two more spaces) when it can be one.
  void key_value(int indent, std::string_view key, std::string_view value);
  // `key:` opening a nested block.
  void key(int indent, std::string_view key);
  // `- key: value`, the first pair of a sequence item at `indent`.
  void item_key_value(int indent, std::string_view key, std::string_view value);
  void comment(std::string_view text);

  const std::string& str() const { return out_; }

 private:
  void value(int indent, std::string_view value);
  std::string out_;
};

}  // namespace kv::rulesgen
