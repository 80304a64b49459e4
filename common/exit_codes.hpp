// Exit codes shared by every tool and documented in every man page.
#pragma once

namespace kv {

enum ExitCode : int {
  kExitOk = 0,           // everything was read and written
  kExitFailure = 1,      // runtime failure: I/O, bind, input ended while serving
  kExitUsage = 2,        // bad flags or arguments
  kExitPartial = 3,      // output was written, but some input lines were rejected
  kExitInvalidInput = 4  // invalid input stopped the tool (--strict, kv-rulesgen's rule sources)
};

}  // namespace kv
