#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <stdexcept>
#include <system_error>

namespace kv {

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

void replace_file_atomically(const std::string& path, unsigned mode,
                             const std::function<void(const WriteChunk&)>& produce) {
  std::string dir = ".";
  if (auto slash = path.rfind('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  // The temp name must not end in .prom: node_exporter reads only *.prom.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw std::runtime_error("cannot write " + path + ": cannot create " + tmp + ": " +
                             std::strerror(errno));
  try {
    produce([fd](std::string_view chunk) { write_all(fd, chunk); });
    if (::fchmod(fd, mode) != 0)
      throw std::system_error(errno, std::generic_category(), "chmod");
    if (::fsync(fd) != 0) throw std::system_error(errno, std::generic_category(), "fsync");
    if (::close(fd) != 0) {
      fd = -1;
      throw std::system_error(errno, std::generic_category(), "close");
    }
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw std::system_error(errno, std::generic_category(), "rename");
  } catch (const std::system_error& e) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    // what() is "<step>: <errno text>", which says it all.
    throw std::runtime_error("cannot write " + path + ": " + e.what());
  }
  // Make the rename itself durable; failing here loses nothing already visible.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace kv
