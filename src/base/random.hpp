// Secure random bytes from the kernel (getrandom(2)).
//
// Why not OpenSSL's RAND_bytes: OpenSSL 3 loads its provider machinery on
// first use, which costs every process about 2.3 MiB of resident memory
// (measured: docs/PERFORMANCE.md, "Server memory"). The kernel's generator
// is the one OpenSSL seeds from, and is what a node needs for nonces,
// incarnations and a generated cookie.
#pragma once

#include <cstddef>

namespace fly::detail {

/// Fills `p[0..n)` with cryptographically secure random bytes. Blocks only
/// before the kernel's generator is first seeded at boot. Thread-safe.
/// Throws std::system_error if the kernel refuses.
void secure_random_bytes(void* p, std::size_t n);

}  // namespace fly::detail
