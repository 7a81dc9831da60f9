// The function registry: an immutable name -> entry table published through
// an atomic pointer (read lock-free), rebuilt under a mutex on change. Tables
// and entries are retired, not freed, until the registry dies: functions are
// exposed a handful of times per process, so the cost is bounded and readers
// need no reference counting.
#include "fly/function.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "base/demangle.hpp"

namespace fly {

namespace {
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

void validate_function_name(const std::string& name) {
  if (name.empty() || name.size() > 255) {
    throw ConfigError("function name", name, "must be 1-255 characters");
  }
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) {
      throw ConfigError("function name", name, "must be printable ASCII without spaces");
    }
  }
}
}  // namespace

struct FunctionRegistry::Table {
  std::unordered_map<std::string, const detail::FunctionEntry*, StringHash, std::equal_to<>> map;
};

struct FunctionRegistry::Retired {
  std::mutex mutex;  // serialises writers
  std::vector<std::unique_ptr<detail::FunctionEntry>> entries;
  std::vector<std::unique_ptr<Table>> tables;
};

FunctionRegistry::FunctionRegistry() : table_(nullptr), retired_(std::make_unique<Retired>()) {
  auto empty = std::make_unique<Table>();
  table_.store(empty.get(), std::memory_order_release);
  retired_->tables.push_back(std::move(empty));
}

FunctionRegistry::~FunctionRegistry() = default;

void FunctionRegistry::add(std::unique_ptr<detail::FunctionEntry> entry) {
  validate_function_name(entry->name());
  std::lock_guard lock(retired_->mutex);
  auto next = std::make_unique<Table>(*table_.load(std::memory_order_relaxed));
  next->map[entry->name()] = entry.get();
  retired_->entries.push_back(std::move(entry));
  table_.store(next.get(), std::memory_order_release);
  retired_->tables.push_back(std::move(next));
  version_.fetch_add(1, std::memory_order_acq_rel);
}

bool FunctionRegistry::remove(std::string_view name) {
  std::lock_guard lock(retired_->mutex);
  const Table* current = table_.load(std::memory_order_relaxed);
  if (current->map.find(name) == current->map.end()) return false;
  auto next = std::make_unique<Table>(*current);
  next->map.erase(next->map.find(name));
  table_.store(next.get(), std::memory_order_release);
  retired_->tables.push_back(std::move(next));
  version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

const detail::FunctionEntry* FunctionRegistry::find(std::string_view name) const noexcept {
  const Table* t = table_.load(std::memory_order_acquire);
  auto it = t->map.find(name);
  return it == t->map.end() ? nullptr : it->second;
}

std::vector<FunctionInfo> FunctionRegistry::list() const {
  const Table* t = table_.load(std::memory_order_acquire);
  std::vector<FunctionInfo> out;
  out.reserve(t->map.size());
  for (const auto& [name, entry] : t->map) out.push_back({name, entry->signature()});
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

void FunctionRegistry::invoke(std::string_view name, std::span<const char> args,
                              detail::Buffer& out) const {
  const detail::FunctionEntry* entry = find(name);
  if (entry == nullptr) throw UnknownFunction(std::string(name), "this node");
  invoke_entry(*entry, "", args, out);
}

void FunctionRegistry::invoke_entry(const detail::FunctionEntry& entry, std::string_view node,
                                    std::span<const char> args, detail::Buffer& out) {
  msgpack::zone& zone = detail::scratch_zone();
  msgpack::object decoded;
  std::string error;
  if (!detail::decode_value(zone, args.data(), args.size(), decoded, error)) {
    throw BadArguments(entry.name(), entry.signature(), error);
  }
  detail::InvokeFailure failure;
  const std::size_t mark = out.size();
  switch (entry.invoke(decoded, out, failure)) {
    case detail::InvokeStatus::ok:
      return;
    case detail::InvokeStatus::bad_arguments:
      out.resize(mark);
      throw BadArguments(entry.name(), entry.signature(), failure.message);
    case detail::InvokeStatus::threw:
      out.resize(mark);
      throw RemoteError(std::string(node), entry.name(), failure.type, failure.message);
  }
}

void FunctionRegistry::rethrow_as_remote(std::exception_ptr e, std::string_view node,
                                         const std::string& function) {
  detail::InvokeFailure failure;
  detail::describe_exception(e, failure);
  throw RemoteError(std::string(node), function, failure.type, failure.message);
}

namespace detail {

std::string arity_mismatch(std::size_t expected, std::size_t got) {
  return fmt::format("expected {} argument{}, got {}", expected, expected == 1 ? "" : "s", got);
}

std::string argument_mismatch(std::size_t index, const std::string& expected,
                              const msgpack::object& got) {
  return fmt::format("argument {}: expected {}, got {}", index, expected, describe(got));
}

std::string argument_out_of_range(std::size_t index, const std::string& expected, bool is_signed,
                                  std::size_t bits, const msgpack::object& got) {
  return fmt::format("argument {}: expected {}, got the integer {}, which does not fit", index,
                     integer_range(expected, is_signed, bits), integer_value(got));
}

void describe_exception(std::exception_ptr e, InvokeFailure& failure) noexcept {
  try {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      failure.type = type_name_of(typeid(ex));
      failure.message = ex.what();
    } catch (...) {
      failure.type = "unknown";
      failure.message = "a non-std::exception was thrown";
    }
  } catch (...) {
    // Out of memory while describing: keep whatever was filled in.
  }
}

}  // namespace detail
}  // namespace fly
