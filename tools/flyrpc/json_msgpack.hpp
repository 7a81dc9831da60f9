// msgpack-cxx adaptors for nlohmann::json, so the CLI can pass JSON
// arguments to typed functions and print their results as JSON.
//   JSON            msgpack
//   null/bool       nil/bool
//   integer         int (signed or unsigned)
//   float           float64
//   string          str
//   array/object    array/map
// A msgpack binary becomes a JSON string (invalid UTF-8 replaced when printed).
#pragma once

#include <nlohmann/json.hpp>
#include "fly/detail/msgpack_buffer.hpp"

namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <>
  struct pack<nlohmann::json> {
    template <class Stream>
    packer<Stream>& operator()(packer<Stream>& pk, const nlohmann::json& j) const {
      switch (j.type()) {
        case nlohmann::json::value_t::null:
          pk.pack_nil();
          break;
        case nlohmann::json::value_t::boolean:
          pk.pack(j.get<bool>());
          break;
        case nlohmann::json::value_t::number_integer:
          pk.pack(j.get<std::int64_t>());
          break;
        case nlohmann::json::value_t::number_unsigned:
          pk.pack(j.get<std::uint64_t>());
          break;
        case nlohmann::json::value_t::number_float:
          pk.pack(j.get<double>());
          break;
        case nlohmann::json::value_t::string:
          pk.pack(j.get_ref<const std::string&>());
          break;
        case nlohmann::json::value_t::array:
          pk.pack_array(static_cast<std::uint32_t>(j.size()));
          for (const auto& e : j) (*this)(pk, e);
          break;
        case nlohmann::json::value_t::object:
          pk.pack_map(static_cast<std::uint32_t>(j.size()));
          for (auto it = j.begin(); it != j.end(); ++it) {
            pk.pack(it.key());
            (*this)(pk, it.value());
          }
          break;
        case nlohmann::json::value_t::binary: {
          const auto& b = j.get_binary();
          pk.pack_bin(static_cast<std::uint32_t>(b.size()));
          pk.pack_bin_body(reinterpret_cast<const char*>(b.data()),
                           static_cast<std::uint32_t>(b.size()));
          break;
        }
        case nlohmann::json::value_t::discarded:
          pk.pack_nil();
          break;
      }
      return pk;
    }
  };

  template <>
  struct convert<nlohmann::json> {
    const msgpack::object& operator()(const msgpack::object& o, nlohmann::json& j) const {
      switch (o.type) {
        case type::NIL:
          j = nullptr;
          break;
        case type::BOOLEAN:
          j = o.via.boolean;
          break;
        case type::POSITIVE_INTEGER:
          j = o.via.u64;
          break;
        case type::NEGATIVE_INTEGER:
          j = o.via.i64;
          break;
        case type::FLOAT32:
        case type::FLOAT64:
          j = o.via.f64;
          break;
        case type::STR:
          j = std::string(o.via.str.ptr, o.via.str.size);
          break;
        case type::BIN:
          j = std::string(o.via.bin.ptr, o.via.bin.size);
          break;
        case type::ARRAY:
          j = nlohmann::json::array();
          for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            nlohmann::json e;
            (*this)(o.via.array.ptr[i], e);
            j.push_back(std::move(e));
          }
          break;
        case type::MAP:
          j = nlohmann::json::object();
          for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            nlohmann::json key;
            (*this)(kv.key, key);
            nlohmann::json value;
            (*this)(kv.val, value);
            j[key.is_string() ? key.get<std::string>() : key.dump()] = std::move(value);
          }
          break;
        case type::EXT:
          j = nullptr;
          break;
      }
      return o;
    }
  };

  }  // namespace adaptor
}
}  // namespace msgpack
