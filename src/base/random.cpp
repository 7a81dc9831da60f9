#include "base/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace fly::detail {

void secure_random_bytes(void* p, std::size_t n) {
  auto* at = static_cast<unsigned char*>(p);
  while (n > 0) {
    const ssize_t got = ::getrandom(at, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    at += got;
    n -= static_cast<std::size_t>(got);
  }
}

}  // namespace fly::detail
