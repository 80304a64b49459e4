// parse-only: the lower bound for any consumer of the sample stream. Reads
// NDJSON from stdin with simdjson (the same library and runtime dispatch as
// kv-promfmt), visits every field of every record, and does nothing else.
#include <simdjson.h>
#include <unistd.h>

#include <cstdio>
#include <string>

int main() {
  std::string input;
  char buf[1 << 16];
  for (ssize_t n; (n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0;) input.append(buf, n);
  simdjson::padded_string padded(input);
  std::string().swap(input);
  simdjson::dom::parser parser;
  simdjson::dom::document_stream docs;
  if (parser.parse_many(padded, 1 << 20).get(docs)) return 1;
  std::size_t records = 0, fields = 0;
  double sum = 0;
  for (auto doc : docs) {
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) continue;
    ++records;
    for (auto field : obj) {
      ++fields;
      simdjson::dom::object labels;
      if (!field.value.get_object().get(labels))
        for (auto label : labels) fields += label.key.size() > 0;
      else if (field.value.is_number())
        sum += field.value.get_double().value_unsafe();
    }
  }
  std::fprintf(stderr, "parse-only: %zu records, %zu fields (%g)\n", records, fields, sum);
  return 0;
}
