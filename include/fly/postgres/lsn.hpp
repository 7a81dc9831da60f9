// A PostgreSQL WAL position (pg_lsn): "16/B374D848" is 0x16B374D848.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fly::postgres {

struct Lsn {
  std::uint64_t value = 0;

  /// Parses PostgreSQL's text form "X/Y" (hex, each part 1-8 digits); nullopt
  /// for anything else.
  static std::optional<Lsn> parse(std::string_view text) noexcept;
  /// The text form, as PostgreSQL prints it ("0/3000148").
  std::string to_string() const;

  friend auto operator<=>(Lsn, Lsn) = default;
};

}  // namespace fly::postgres
