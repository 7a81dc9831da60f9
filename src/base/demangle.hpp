// Human-readable C++ type names, for error messages that cross the wire.
#pragma once

#include <string>
#include <typeinfo>

namespace fly::detail {

/// "std::invalid_argument" for typeid(std::invalid_argument). Allocates; for
/// error paths only.
std::string demangle(const char* mangled);
inline std::string type_name_of(const std::type_info& t) {
  return demangle(t.name());
}

}  // namespace fly::detail
