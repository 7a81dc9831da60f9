// The calls every system serves, and the three payloads the harness sends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flybench {

/// The two remote functions. The values are the floor's wire op codes.
enum class Op : std::uint8_t { upcase = 0, echo = 1 };

/// One payload of the benchmark: what is sent and what must come back.
struct Payload {
  std::string name;      // "upcase3", "echo1k", "echo64k": the key in every report
  Op op;                 // which function is called
  std::string request;   // bytes sent
  std::string expected;  // bytes the function must return
};

/// "fly" -> "FLY", an echo of 1 KiB and an echo of 64 KiB, in that order.
const std::vector<Payload>& standard_payloads();

/// The payload called `name`; throws std::invalid_argument naming the known ones.
const Payload& payload_by_name(std::string_view name);

/// ASCII upper-casing in place: the server side of "upcase" for the C++ systems.
void ascii_upcase(char* data, std::size_t size);

}  // namespace flybench
