// The event bus: an immutable table of handlers per event, published as a
// shared_ptr. Emitters copy the pointer under a tiny lock (a reference-count
// increment long) and call the handlers with no lock held, so a handler may
// attach or detach (even itself). Writers (attach, detach) build a new table
// under a separate mutex; an old table, and the handlers in it, live until the
// last emitter using it is done.
//
// Why not std::atomic<std::shared_ptr>: libstdc++ 12 implements it with a lock
// bit that ThreadSanitizer does not understand, so every emit racing an attach
// is reported; a plain mutex around the copy costs about the same.
#include "fly/telemetry.hpp"

#include "base/log.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace fly::telemetry {

const char* to_string(Event event) noexcept {
  switch (event) {
    case Event::call_start:
      return "flyrpc.call.start";
    case Event::call_stop:
      return "flyrpc.call.stop";
    case Event::call_exception:
      return "flyrpc.call.exception";
    case Event::node_up:
      return "flyrpc.node.up";
    case Event::node_down:
      return "flyrpc.node.down";
    case Event::connection_refused:
      return "flyrpc.connection.refused";
    case Event::reconnect:
      return "flyrpc.reconnect";
  }
  return "flyrpc.unknown";
}

namespace {

struct Entry {
  std::string name;
  std::uint32_t events = 0;  // bit per Event
  Handler handler;
};

/// One published state: every entry in attach order, and per event the
/// entries that want it (so dispatch walks only its own handlers).
struct Table {
  std::vector<std::shared_ptr<const Entry>> all;
  std::array<std::vector<std::shared_ptr<const Entry>>, event_count> by_event;

  std::uint32_t mask() const {
    std::uint32_t m = 0;
    for (const auto& e : all) m |= e->events;
    return m;
  }
};

std::shared_ptr<const Table> rebuilt(std::vector<std::shared_ptr<const Entry>> all) {
  auto t = std::make_shared<Table>();
  t->all = std::move(all);
  for (const auto& e : t->all) {
    for (std::size_t i = 0; i < event_count; ++i) {
      if ((e->events >> i) & 1U) t->by_event[i].push_back(e);
    }
  }
  return t;
}

}  // namespace

struct Telemetry::State {
  std::mutex writer;                 // serialises attach/detach; never held while a handler runs
  mutable std::mutex current_mutex;  // guards `current` only while it is copied or swapped
  std::shared_ptr<const Table> current_table = std::make_shared<Table>();

  std::shared_ptr<const Table> current() const {
    std::lock_guard lock(current_mutex);
    return current_table;
  }

  // Publishes a new table and the matching mask. Caller holds `writer`.
  void publish(std::shared_ptr<const Table> next, std::atomic<std::uint32_t>& mask) {
    const std::uint32_t m = next->mask();
    {
      std::lock_guard lock(current_mutex);
      current_table.swap(next);
    }  // the old table is released here, outside the lock
    mask.store(m, std::memory_order_relaxed);
  }

  // Removes the first entry for which `match` holds; false if none does.
  template <class Match>
  bool remove_if(Match match, std::atomic<std::uint32_t>& mask) {
    std::lock_guard lock(writer);
    auto now = current();
    std::vector<std::shared_ptr<const Entry>> all;
    bool found = false;
    for (const auto& e : now->all) {
      if (!found && match(*e)) {
        found = true;
      } else {
        all.push_back(e);
      }
    }
    if (found) publish(rebuilt(std::move(all)), mask);
    return found;
  }
};

Telemetry::Telemetry() : state_(std::make_unique<State>()) {}
Telemetry::~Telemetry() = default;

bool Telemetry::attach(std::string name, std::initializer_list<Event> events, Handler handler) {
  return attach(std::move(name), std::span<const Event>(events.begin(), events.size()),
                std::move(handler));
}

bool Telemetry::attach(std::string name, std::span<const Event> events, Handler handler) {
  if (events.empty()) throw std::invalid_argument("telemetry handler \"" + name + "\": no events");
  if (!handler) throw std::invalid_argument("telemetry handler \"" + name + "\": empty handler");
  auto entry = std::make_shared<Entry>();
  for (Event e : events) {
    const auto i = static_cast<std::size_t>(e);
    if (i >= event_count) {
      throw std::invalid_argument("telemetry handler \"" + name + "\": unknown event");
    }
    entry->events |= 1U << i;
  }
  entry->name = std::move(name);
  entry->handler = std::move(handler);

  std::lock_guard lock(state_->writer);
  auto now = state_->current();
  for (const auto& e : now->all) {
    if (e->name == entry->name) return false;
  }
  auto all = now->all;
  all.push_back(std::move(entry));
  state_->publish(rebuilt(std::move(all)), mask_);
  return true;
}

bool Telemetry::detach(std::string_view name) {
  return state_->remove_if([name](const Entry& e) { return e.name == name; }, mask_);
}

std::vector<std::string> Telemetry::handlers() const {
  auto now = state_->current();
  std::vector<std::string> names;
  names.reserve(now->all.size());
  for (const auto& e : now->all) names.push_back(e->name);
  std::sort(names.begin(), names.end());
  return names;
}

void Telemetry::detach_failed(const void* entry, Event event, const char* what) noexcept {
  // As :telemetry does: a failing handler is detached so that it cannot fail
  // every call, and the failure is logged once. By identity, not name: a
  // handler re-attached under the same name meanwhile is another entry and
  // stays. The caller holds the entry, so its address cannot be reused.
  try {
    std::string name;
    const bool removed = state_->remove_if(
        [&](const Entry& e) {
          if (&e != entry) return false;
          name = e.name;
          return true;
        },
        mask_);
    if (removed) {
      fly::log::get().error("telemetry handler \"{}\" threw on {}: {}; it has been detached", name,
                            to_string(event), what);
    }
  } catch (...) {
    // Out of memory while detaching or logging: nothing better to do than
    // keep the call path going.
  }
}

void Telemetry::dispatch(Event event, const Measurements& measurements,
                         const Metadata& metadata) noexcept {
  const auto i = static_cast<std::size_t>(event);
  if (i >= event_count) return;
  // Holding `table` keeps every entry (and what its handler captured) alive
  // for this dispatch even if it is detached meanwhile.
  const std::shared_ptr<const Table> table = state_->current();
  for (const auto& entry : table->by_event[i]) {
    try {
      entry->handler(event, measurements, metadata);
    } catch (const std::exception& e) {
      detach_failed(entry.get(), event, e.what());  // inside the catch: what() is alive
    } catch (...) {
      detach_failed(entry.get(), event, "an exception not derived from std::exception");
    }
  }
}

}  // namespace fly::telemetry
