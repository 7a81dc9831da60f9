// The linked library's version, compiled in from the generated header.
#include <fly/version.hpp>

namespace fly {

std::string_view version() noexcept {
  return FLYRPC_VERSION_STRING;
}

}  // namespace fly
