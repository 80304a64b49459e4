// Replaces a file atomically: readers see the old or the new content, never
// a part, and never a missing file (temp file in the same directory, fsync,
// rename, fsync of the directory).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace kv {

using WriteChunk = std::function<void(std::string_view)>;

// Calls `produce` with a writer for the temp file, then renames it over
// `path` with the given mode. Throws std::runtime_error naming the path and
// the step that failed; the temp file is removed on failure.
void replace_file_atomically(const std::string& path, unsigned mode,
                             const std::function<void(const WriteChunk&)>& produce);

// Writes all of `data` to `fd`, retrying short writes; throws on error.
void write_all(int fd, std::string_view data);

}  // namespace kv
