// A connection's event sinks that do nothing: for Peers that are never
// started (no socket is open, no event ever arrives), built by tests and
// micro-benchmarks to give routing real call tables and round-trip times.
// Header-only; needs the internal headers of src/ on the include path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net/peer.hpp"

namespace flytest {

struct NoEvents final : fly::net::PeerEvents, fly::net::CallHandler {
  void on_authenticated(const std::shared_ptr<fly::net::Peer>&) override {}
  void on_control_frame(const std::shared_ptr<fly::net::Peer>&,
                        const fly::wire::FrameView&) override {}
  void on_closed(const std::shared_ptr<fly::net::Peer>&, const fly::net::CloseInfo&) override {}
  void on_call(const std::shared_ptr<fly::net::Peer>&, const fly::wire::CallView&) override {}
  void on_cancel(const std::shared_ptr<fly::net::Peer>&, std::uint64_t) override {}
  void on_connection_closed(const std::shared_ptr<fly::net::Peer>&, const std::string&) override {}
};

}  // namespace flytest
