// Process set-up shared by the tools: standard descriptors and signals.
#pragma once

#include <chrono>

namespace kv {

// Makes sure fds 0-2 are open, so that no descriptor opened later (a
// signalfd, a socket) is mistaken for stdin or stdout. A closed stdout gets
// a read-only /dev/null, so writing to it still fails as it should.
void protect_standard_fds();

// Ignores SIGPIPE (EPIPE then comes back from write()) and blocks SIGTERM
// and SIGINT in every thread; returns a non-blocking signalfd that becomes
// readable when one arrives, for the main loop to poll. -1 on failure.
int termination_signal_fd();

// Whether that descriptor is readable now, i.e. a signal is pending. The
// signal is not consumed: every later check sees it too.
bool signal_pending(int fd);

// Waits until `until` or a signal on that descriptor, whichever comes
// first; true if a signal came. Any wait length, however long.
bool wait_for_signal(int fd, std::chrono::steady_clock::time_point until);

}  // namespace kv
