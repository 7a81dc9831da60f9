#include "cluster/cluster.hpp"

#include <asio/bind_executor.hpp>
#include <asio/connect.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include "base/host_port_format.hpp"
#include "base/log.hpp"

#include <algorithm>
#include <cerrno>
#include <random>

#include "discovery/host_port.hpp"
#include "telemetry/node_metrics.hpp"
#include "wire/handshake.hpp"

namespace fly::cluster {

namespace {

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::";
}

// An accept(2) error that says the process or system is out of a resource
// (descriptors, socket buffers, memory): the connection stays in the backlog
// and retrying at once fails the same way. Other errors concern one
// connection, and the next accept may succeed.
bool is_resource_exhaustion(const asio::error_code& ec) {
  return ec == asio::error::no_descriptors ||  // EMFILE
         (ec.category() == asio::error::get_system_category() && ec.value() == ENFILE) ||
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

// A retry waits its back-off delay times a random factor in [0.75, 1.25):
// nodes that lost a peer at the same moment do not all redial at once.
constexpr double kJitterMin = 0.75;
constexpr double kJitterMax = 1.25;
// The back-off doubles per failed attempt up to reconnect_min << this (and
// never past reconnect_max); the cap only keeps the shift defined.
constexpr unsigned kMaxBackoffDoublings = 16;
// A failing target logs its first failure, then every this many.
constexpr unsigned kLogEveryNthDialFailure = 20;

std::chrono::milliseconds jittered(std::chrono::milliseconds base) {
  thread_local std::minstd_rand rng(std::random_device{}());
  std::uniform_real_distribution<double> factor(kJitterMin, kJitterMax);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base.count() * factor(rng)));
}

}  // namespace

Cluster::Cluster(asio::io_context& io, ClusterSettings settings, FunctionRegistry& functions,
                 net::CallHandler& calls)
    : io_(io),
      settings_(std::move(settings)),
      functions_(functions),
      calls_(calls),
      incarnation_(wire::make_incarnation()),
      accept_strand_(asio::make_strand(io)),
      acceptor_(accept_strand_),
      resolver_(io),
      events_strand_(asio::make_strand(io)),
      accept_retry_(accept_strand_),
      view_(std::make_shared<const ClusterView>()) {}

Cluster::~Cluster() = default;

// ---- listening ---------------------------------------------------------------

void Cluster::start() {
  if (!settings_.listen_host.empty()) {
    asio::error_code ec;
    const auto address = asio::ip::make_address(settings_.listen_host, ec);
    if (ec) {
      throw ConfigError("listen address", settings_.listen_host, "not an IPv4 or IPv6 address");
    }
    const asio::ip::tcp::endpoint endpoint(address, settings_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor_.set_option(asio::ip::v6_only(false), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw ConfigError("listen address",
                        detail::join_host_port(settings_.listen_host, settings_.port),
                        "cannot listen: " + ec.message());
    }
    listen_port_ = acceptor_.local_endpoint().port();
    accept_next();
  }
  std::lock_guard lock(mutex_);
  publish();
}

void Cluster::accept_next() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      accept_failed(ec);
      return;
    }
    if (accept_pause_.count() != 0) {
      accept_pause_ = std::chrono::milliseconds(0);
      std::size_t suppressed = 0;
      if (accept_again_log_.allow(suppressed)) {
        fly::log::get().info("flyrpc: accepting connections on port {} again", listen_port_);
      }
    }
    on_accept(std::move(socket));
    accept_next();
  });
}

void Cluster::accept_failed(const asio::error_code& ec) {
  // Out of descriptors (EMFILE/ENFILE) or buffers, the pending connection
  // stays in the backlog and the next accept fails the same way at once:
  // pause, 50 ms doubling to 1 s while it lasts, so that a node at its fd
  // limit idles instead of spinning, serves the connections it has, and
  // takes new ones within a second of descriptors coming free. Any other
  // error (rarer: asio already retries aborted connections) pauses briefly.
  const bool exhausted = is_resource_exhaustion(ec);
  using std::chrono::milliseconds;
  accept_pause_ = !exhausted                   ? milliseconds(10)
                  : accept_pause_.count() == 0 ? milliseconds(50)
                                               : std::min(accept_pause_ * 2, milliseconds(1000));
  std::size_t suppressed = 0;
  if (accept_log_.allow(suppressed)) {
    fly::log::get().warn(
        "flyrpc: cannot accept connections on port {}: {}{}; retrying in {} ms ({} more such "
        "errors since the last message)",
        listen_port_, ec.message(),
        exhausted ? " (existing connections are still served; raise the limit with ulimit -n)" : "",
        accept_pause_.count(), suppressed);
  }
  accept_retry_.expires_after(accept_pause_);
  accept_retry_.async_wait([this](const asio::error_code& wait_ec) {
    if (!wait_ec && acceptor_.is_open()) accept_next();
  });
}

void Cluster::on_accept(asio::ip::tcp::socket socket) {
  std::shared_ptr<detail::Peer> peer;
  {
    std::lock_guard lock(mutex_);
    if (leaving_) return;  // the socket closes as it goes out of scope
    if (handshaking_inbound_ >= settings_.max_pending_handshakes) {
      refuse_busy(socket);
      return;  // the socket closes as it goes out of scope
    }
    peer = make_peer(std::move(socket), "");
    pending_[peer->id()] = peer;
    ++handshaking_inbound_;
  }
  peer->start();
}

// Locked. An inbound connection over max_pending_handshakes: a best-effort
// REFUSE busy (plaintext only: a TLS client could not read it; one
// non-blocking write, never waiting), then the caller closes it. Logged with
// the remote address, at most once a second under a flood.
void Cluster::refuse_busy(asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string address =
      ec ? std::string() : detail::join_host_port(remote.address().to_string(), remote.port());
  if (!settings_.peer.tls) {
    detail::Buffer refuse;
    wire::encode_refuse(refuse,
                        {wire::RefuseReason::busy, std::to_string(handshaking_inbound_) +
                                                       " handshakes already pending; retry later"});
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(asio::buffer(refuse.data(), refuse.size()), ec);
  }
  record_refusal(wire::RefuseReason::busy, address);
  if (std::size_t suppressed = 0; busy_log_.allow(suppressed)) {
    fly::log::get().warn(
        "flyrpc: refusing a connection from {}: {} handshakes already pending "
        "(max_pending_handshakes; {} refused since the last such message)",
        address.empty() ? "an unknown address" : address, handshaking_inbound_, suppressed + 1);
  }
}

std::shared_ptr<detail::Peer> Cluster::make_peer(asio::ip::tcp::socket socket,
                                                 const std::string& dialed_address) {
  net::PeerSettings ps = settings_.peer;
  ps.hello = hello_for(socket);
  auto peer = std::make_shared<detail::Peer>(std::move(socket), std::move(ps), *this, calls_,
                                             dialed_address);
  links_.try_emplace(peer->id());
  return peer;
}

wire::Hello Cluster::hello_for(const asio::ip::tcp::socket& socket) const {
  wire::Hello hello;
  hello.name = settings_.name;
  hello.region = settings_.region;
  hello.hidden = settings_.hidden;
  hello.incarnation = incarnation_;
  if (!settings_.advertise_address.empty()) {
    hello.listen_address = settings_.advertise_address;
  } else if (listen_port_ != 0) {
    std::string host = settings_.listen_host;
    if (is_wildcard(host)) {
      asio::error_code ec;
      auto local = socket.local_endpoint(ec);
      if (!ec) {
        auto a = local.address();
        if (a.is_v6() && a.to_v6().is_v4_mapped()) {
          a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        }
        host = a.to_string();
      }
    }
    hello.listen_address = detail::join_host_port(host, listen_port_);
  }
  return hello;
}

std::string Cluster::self_address() const {
  if (!settings_.advertise_address.empty()) return settings_.advertise_address;
  if (listen_port_ == 0) return "";
  return detail::join_host_port(settings_.listen_host, listen_port_);
}

// ---- dialing -----------------------------------------------------------------

void Cluster::add_seed(const std::string& address) {
  std::lock_guard lock(mutex_);
  dial(address, true);
}

// Locked. Creates the target if new and starts an attempt unless one is
// running or scheduled.
void Cluster::dial(const std::string& address, bool permanent) {
  if (leaving_ || address.empty() || address == self_address()) return;
  auto [it, inserted] = targets_.try_emplace(address);
  DialTarget& t = it->second;
  if (inserted) {
    t.address = address;
    t.timer = std::make_unique<asio::steady_timer>(io_);
  }
  t.permanent = t.permanent || permanent;
  if (t.in_progress) return;
  if (!t.name.empty() && members_.count(t.name) != 0) return;  // already connected
  t.in_progress = true;
  asio::post(io_, [this, address] { attempt(address); });
}

void Cluster::attempt(const std::string& address) {
  discovery::HostPort hp;
  try {
    hp = discovery::parse_host_port("peer address", address, 0);
  } catch (const Error& e) {
    fly::log::get().error("flyrpc: not dialling {}: {}", address, e.what());
    std::lock_guard lock(mutex_);
    targets_.erase(address);
    return;
  }
  resolver_.async_resolve(
      hp.host, std::to_string(hp.port),
      [this, address](const asio::error_code& ec, asio::ip::tcp::resolver::results_type r) {
        if (ec) {
          dial_failed(address, "cannot resolve: " + ec.message());
          return;
        }
        connect_resolved(address, std::move(r));
      });
}

void Cluster::connect_resolved(const std::string& address,
                               asio::ip::tcp::resolver::results_type results) {
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  auto deadline = std::make_shared<asio::steady_timer>(io_, settings_.peer.handshake_timeout);
  deadline->async_wait([socket](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      socket->close(ignored);
    }
  });
  asio::async_connect(*socket, results,
                      [this, address, socket, deadline](const asio::error_code& ec,
                                                        const asio::ip::tcp::endpoint&) {
                        deadline->cancel();
                        if (ec) {
                          dial_failed(address, "cannot connect: " + ec.message());
                          return;
                        }
                        std::shared_ptr<detail::Peer> peer;
                        {
                          std::lock_guard lock(mutex_);
                          if (leaving_) return;
                          peer = make_peer(std::move(*socket), address);
                          pending_[peer->id()] = peer;
                        }
                        peer->start();
                      });
}

void Cluster::dial_failed(const std::string& address, const std::string& why) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(address);
  if (it == targets_.end()) return;
  DialTarget& t = it->second;
  t.in_progress = false;
  last_join_error_ = address + ": " + why;
  if (t.attempts == 0 || t.attempts % kLogEveryNthDialFailure == 0) {
    fly::log::get().info("flyrpc: dialling {} failed ({}); retrying with back-off", address, why);
  }
  schedule_retry(t);
}

// Locked.
void Cluster::schedule_retry(DialTarget& t) {
  if (leaving_) return;
  if (!t.permanent && !t.name.empty() && members_.count(t.name) != 0) return;
  const unsigned shift = std::min(t.attempts, kMaxBackoffDoublings);
  const std::chrono::milliseconds delay = std::min<std::chrono::milliseconds>(
      settings_.reconnect_max, settings_.reconnect_min * (std::int64_t{1} << shift));
  ++t.attempts;
  t.in_progress = true;
  t.timer->expires_after(jittered(delay));
  t.timer->async_wait([this, address = t.address](const asio::error_code& ec) {
    if (ec) return;
    {
      std::lock_guard lock(mutex_);
      auto it = targets_.find(address);
      if (it == targets_.end() || leaving_) return;
      DialTarget& target = it->second;
      if (!target.name.empty() && members_.count(target.name) != 0) {
        target.in_progress = false;  // connected meanwhile (e.g. it dialled us)
        return;
      }
      if (settings_.peer.metrics) settings_.peer.metrics->reconnected();
      emit_telemetry(telemetry::Event::reconnect, {"", "", "", address, target.attempts});
    }
    attempt(address);
  });
}

// ---- handshake outcome and control frames ------------------------------------

void Cluster::refuse(const std::shared_ptr<detail::Peer>& peer, wire::RefuseReason reason,
                     const std::string& message) {
  if (Link* link = link_of(*peer)) link->refused = true;  // so on_closed does not count it again
  record_refusal(reason, peer->remote_address());
  peer->send([&](detail::Buffer& out) { wire::encode_refuse(out, {reason, message}); });
  peer->close_after_flush(std::string(wire::to_string(reason)) + ": " + message);
}

void Cluster::on_authenticated(const std::shared_ptr<detail::Peer>& peer) {
  const wire::Hello& h = peer->peer_hello();
  std::lock_guard lock(mutex_);
  if (!peer->outbound() && handshaking_inbound_ > 0) --handshaking_inbound_;
  if (leaving_) {
    refuse(peer, wire::RefuseReason::stopping, "node is stopping");
    return;
  }
  if (h.name == settings_.name) {
    if (h.incarnation > incarnation_) {
      // A later start of this node's name: it wins (on every node; the
      // others will refuse this one).
      refuse(peer, wire::RefuseReason::stopping, "this node was replaced by you");
      replaced_by("the newer node itself, at " + peer->remote_address());
      return;
    }
    if (h.incarnation < incarnation_) {
      log_refusal(h.name, "flyrpc: refusing " + peer->remote_address() +
                              ": an older process named \"" + h.name +
                              "\" (this node, a later start of that name, replaced it)");
      refuse_replaced(peer, h.name);
      return;
    }
    fly::log::get().error("flyrpc: refusing {} ({}): it uses this node's own name \"{}\"",
                          peer->remote_address(), h.region, h.name);
    refuse(peer, wire::RefuseReason::duplicate_name,
           "\"" + h.name + "\" is the name of the node you reached");
    return;
  }
  auto existing = members_.find(h.name);
  if (existing != members_.end()) {
    if (existing->second.member->incarnation > h.incarnation) {
      log_refusal(h.name, "flyrpc: refusing " + peer->remote_address() +
                              ": an older process named \"" + h.name +
                              "\" (the member of that name started later and replaced it)");
      refuse_replaced(peer, h.name);
      return;
    }
    if (existing->second.member->incarnation < h.incarnation) {
      displace_member(h.name, peer->remote_address());
      existing = members_.end();
    }
  }
  if (existing != members_.end()) {
    if (is_decider_for(h.name)) {
      refuse(peer, wire::RefuseReason::already_connected, "already connected");
      return;
    }
  }
  if (is_decider_for(h.name)) {
    // A connection we already activated for this incarnation, still waiting
    // for its ANNOUNCE, counts as existing too: activate one connection only
    // (else both dials of a pair that met at once come up and one replaces
    // the other, which the peer sees as a flap).
    for (const auto& [id, other] : pending_) {
      const Link* other_link = link_of(*other);
      if (other != peer && other_link != nullptr && other_link->activated &&
          other->authenticated() && other->peer_hello().name == h.name &&
          other->peer_hello().incarnation == h.incarnation) {
        refuse(peer, wire::RefuseReason::already_connected, "already connected");
        return;
      }
    }
  }
  if (peer->outbound()) {
    auto t = targets_.find(peer->dialed_address());
    if (t != targets_.end()) {
      // Back-off is reset when the member comes up (maybe_up), not here: a
      // connection refused after authentication must not redial at once.
      t->second.name = h.name;
      t->second.in_progress = false;
    }
  }
  if (!h.listen_address.empty()) {
    // Remember where it listens, so we can redial it if it drops.
    auto [t, inserted] = targets_.try_emplace(h.listen_address);
    if (inserted) {
      t->second.address = h.listen_address;
      t->second.timer = std::make_unique<asio::steady_timer>(io_);
    }
    t->second.name = h.name;
  }
  send_announce(*peer);
  send_peers(*peer, h.name);
  if (is_decider_for(h.name)) {
    if (Link* link = link_of(*peer)) link->activated = true;
    peer->send([](detail::Buffer& out) { wire::encode_activate(out); });
  }
  maybe_up(peer);
}

void Cluster::on_control_frame(const std::shared_ptr<detail::Peer>& peer,
                               const wire::FrameView& frame) {
  {
    // Frames already in flight from a connection we refused are not acted on.
    // A closed connection's record is gone: nothing more to act on either.
    std::lock_guard lock(mutex_);
    const Link* link = link_of(*peer);
    if (link == nullptr || link->refused) return;
  }
  std::string error;
  switch (frame.type) {
    case wire::FrameType::announce: {
      wire::Announce announce;
      if (!wire::decode_announce(frame.payload, announce, error)) break;
      auto set = std::make_shared<FunctionSet>();
      for (auto& f : announce.functions) set->insert(std::move(f.name));
      std::lock_guard lock(mutex_);
      Link* link = link_of(*peer);
      if (link == nullptr) return;  // closed meanwhile
      link->functions = set;
      link->announced = true;
      auto it = members_.find(peer->peer_hello().name);
      if (it != members_.end() && it->second.peer == peer) {
        auto updated = std::make_shared<Member>(*it->second.member);
        updated->functions = std::move(set);
        it->second.member = std::move(updated);
        publish();
      } else {
        maybe_up(peer);
      }
      return;
    }
    case wire::FrameType::activate: {
      if (!wire::decode_activate(frame.payload, error)) break;
      if (is_decider_for(peer->peer_hello().name)) {
        error = "ACTIVATE from the non-deciding side";
        break;
      }
      std::lock_guard lock(mutex_);
      Link* link = link_of(*peer);
      if (link == nullptr) return;  // closed meanwhile
      link->activated = true;
      maybe_up(peer);
      return;
    }
    case wire::FrameType::peers: {
      std::vector<wire::PeerInfo> peers;
      if (!wire::decode_peers(frame.payload, peers, error)) break;
      std::lock_guard lock(mutex_);
      for (const auto& p : peers) {
        if (p.address.empty() || replaced_) continue;
        // A name we know at another address may be another process with that
        // name (two started at once, or a restart on a new port): dial it too,
        // and the handshake keeps the newer incarnation. (Our own name is never
        // gossiped to us: senders leave out the recipient's name.)
        if (p.name == settings_.name) continue;
        auto m = members_.find(p.name);
        if (m != members_.end() && m->second.member->address == p.address) continue;
        dial(p.address, false);
      }
      return;
    }
    case wire::FrameType::goodbye: {
      std::string reason;
      if (!wire::decode_goodbye(frame.payload, reason, error)) break;
      {
        std::lock_guard lock(mutex_);
        if (Link* link = link_of(*peer)) link->said_goodbye = true;
        auto it = members_.find(peer->peer_hello().name);
        if (it != members_.end() && it->second.peer == peer) {
          member_down(it->first, "goodbye" + (reason.empty() ? "" : " (" + reason + ")"));
        }
      }
      peer->close("node left (goodbye)", Errc::node_down);
      return;
    }
    default:
      error = std::string("unexpected ") + wire::to_string(frame.type) + " frame";
      break;
  }
  fly::log::get().warn("flyrpc: protocol error from {}: {}", peer->remote_address(), error);
  refuse(peer, wire::RefuseReason::protocol, error);
}

void Cluster::on_closed(const std::shared_ptr<detail::Peer>& peer, const net::CloseInfo& info) {
  std::lock_guard lock(mutex_);
  // The connection's record ends here: on_closed is its last event.
  Link link;
  if (auto l = links_.find(peer->id()); l != links_.end()) {
    link = std::move(l->second);
    links_.erase(l);
  }
  if (pending_.erase(peer->id()) != 0 && !peer->outbound() && !info.authenticated &&
      handshaking_inbound_ > 0) {
    --handshaking_inbound_;
  }
  const bool harmless_refusal = info.refused_by_peer == wire::RefuseReason::already_connected ||
                                info.refused_by_us == wire::RefuseReason::already_connected;
  // Refusals by the handshake (bad cookie, version, timeout), by the peer, or
  // for a protocol error; the cluster's own (refuse()) were counted there.
  if (!link.refused) {
    if (info.refused_by_us) {
      record_refusal(*info.refused_by_us, peer->remote_address());
    } else if (info.refused_by_peer) {
      record_refusal(*info.refused_by_peer, peer->remote_address());
    }
  }
  if (peer->outbound() && !harmless_refusal && !link.activated) {
    last_join_error_ = peer->dialed_address() + ": " + info.reason;
  }
  const std::string who = peer->authenticated() ? peer->peer_hello().name : peer->remote_address();
  if (info.refused_by_peer == wire::RefuseReason::replaced && info.authenticated &&
      peer->authenticated()) {
    // Final, from a node that shares the cookie: a newer process has our name.
    replaced_by(who + " at " + peer->remote_address());
  } else if (!link.refused && !harmless_refusal && !leaving_ &&
             ((peer->outbound() && (info.refused_by_peer || info.refused_by_us)) ||
              (info.authenticated && info.refused_by_peer))) {
    // Our dials refused in the handshake (a wrong cookie: both sides find
    // out), and any refusal after authentication: the peer logs its side,
    // this is ours (net/peer.cpp logs only inbound handshake refusals). A
    // hidden node is a tool: it reports last_join_error() itself.
    const std::string line = "flyrpc: " +
                             (peer->outbound() ? "connection to " + peer->dialed_address()
                                               : "connection from " + peer->remote_address()) +
                             (who == peer->remote_address() ? "" : " (" + who + ")") +
                             " failed: " + info.reason;
    if (settings_.hidden) {
      fly::log::get().debug("{}", line);
    } else {
      log_refusal(who, line);
    }
  }
  std::string name;
  if (peer->authenticated()) {
    name = peer->peer_hello().name;
    auto it = members_.find(name);
    if (it != members_.end() && it->second.peer == peer) member_down(name, info.reason);
  }
  if (leaving_) return;
  // Redial: the address we dialled, and where the peer said it listens.
  std::vector<std::string> again;
  if (peer->outbound()) again.push_back(peer->dialed_address());
  if (peer->authenticated() && !peer->peer_hello().listen_address.empty()) {
    again.push_back(peer->peer_hello().listen_address);
  }
  for (const auto& address : again) {
    auto t = targets_.find(address);
    if (t == targets_.end()) continue;
    if (link.said_goodbye && !t->second.permanent) {
      t->second.timer->cancel();
      targets_.erase(t);
      continue;
    }
    if (harmless_refusal && !name.empty() && members_.count(name) != 0) {
      t->second.in_progress = false;
      continue;
    }
    if (!name.empty() && members_.count(name) != 0) continue;  // another connection serves it
    t->second.in_progress = false;
    schedule_retry(t->second);
  }
}

// Locked. A connection becomes the member's when it is activated and its
// functions are known.
void Cluster::maybe_up(const std::shared_ptr<detail::Peer>& peer) {
  const Link* link = link_of(*peer);
  if (link == nullptr || link->refused || !link->activated || !link->announced ||
      !peer->authenticated()) {
    return;
  }
  const wire::Hello& h = peer->peer_hello();
  auto it = members_.find(h.name);
  if (it != members_.end()) {
    if (it->second.peer == peer) return;
    if (it->second.member->incarnation > h.incarnation) {
      // Both authenticated while neither was a member; the newer came up first.
      log_refusal(h.name, "flyrpc: refusing " + peer->remote_address() +
                              ": an older process named \"" + h.name +
                              "\" (the member of that name started later and replaced it)");
      refuse_replaced(peer, h.name);
      return;
    }
    if (it->second.member->incarnation < h.incarnation) {
      displace_member(h.name, peer->remote_address());
    } else {
      // The decider switched to this connection; the old one is closing.
      it->second.peer->close("replaced by a newer connection", Errc::node_down);
    }
  }
  // Up: redial it promptly if it drops again.
  for (const std::string* address : {&peer->dialed_address(), &h.listen_address}) {
    auto t = address->empty() ? targets_.end() : targets_.find(*address);
    if (t != targets_.end()) t->second.attempts = 0;
  }
  auto m = std::make_shared<Member>();
  m->name = h.name;
  m->region = h.region;
  m->address = h.listen_address;
  m->hidden = h.hidden;
  m->incarnation = h.incarnation;
  m->peer = peer;
  m->functions = link->functions;
  members_[h.name] = Entry{m, peer};
  pending_.erase(peer->id());
  publish();
  fly::log::get().info("flyrpc: node up: {} ({}{}) at {}", m->name, m->region,
                       m->hidden ? ", hidden" : "", peer->remote_address());
  emit({MembershipEvent::Kind::up, info_of(*m), ""});
  emit_telemetry(telemetry::Event::node_up, {m->name, m->region, "", peer->remote_address()});
  // Full mesh: the newcomer learns every member up now — including those
  // that came up after its handshake's PEERS (a hidden node, which nobody can
  // dial, would otherwise never meet them) —, and every other member learns
  // the newcomer. Addresses already known are ignored by the receiver.
  send_peers(*peer, h.name);
  if (!m->hidden && !m->address.empty()) {
    std::vector<wire::PeerInfo> one{{m->name, m->region, m->address}};
    for (const auto& [name, other] : members_) {
      if (name == m->name) continue;
      other.peer->send([&](detail::Buffer& out) { wire::encode_peers(out, one); });
    }
  }
}

// Locked.
void Cluster::member_down(const std::string& name, const std::string& reason) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  auto m = it->second.member;
  members_.erase(it);
  publish();
  fly::log::get().info("flyrpc: node down: {} ({}): {}", m->name, m->region, reason);
  emit({MembershipEvent::Kind::down, info_of(*m), reason});
  emit_telemetry(telemetry::Event::node_down, {m->name, m->region, reason, ""});
}

// Locked.
void Cluster::send_announce(detail::Peer& peer) {
  wire::Announce a;
  a.generation = ++announce_generation_;
  for (auto& f : functions_.list())
    a.functions.push_back({std::move(f.name), std::move(f.signature)});
  peer.send([&](detail::Buffer& out) { wire::encode_announce(out, a); });
}

// Locked.
void Cluster::send_peers(detail::Peer& peer, const std::string& except) {
  std::vector<wire::PeerInfo> list;
  for (const auto& [name, e] : members_) {
    const auto& m = e.member;
    if (name == except || m->hidden || m->address.empty()) continue;
    list.push_back({m->name, m->region, m->address});
  }
  if (list.empty()) return;
  peer.send([&](detail::Buffer& out) { wire::encode_peers(out, list); });
}

void Cluster::functions_changed() {
  std::lock_guard lock(mutex_);
  for (const auto& [name, e] : members_) send_announce(*e.peer);
  for (const auto& [id, p] : pending_) {
    if (p->authenticated()) send_announce(*p);
  }
  publish();
}

// Locked. Rebuilds the region table from members_ and this node.
void Cluster::publish() {
  auto view = std::make_shared<ClusterView>();
  if (!settings_.hidden) {
    auto self = std::make_shared<Member>();
    self->name = settings_.name;
    self->region = settings_.region;
    self->address = self_address();
    self->incarnation = incarnation_;
    self->is_self = true;
    auto set = std::make_shared<FunctionSet>();
    for (auto& f : functions_.list()) set->insert(std::move(f.name));
    self->functions = std::move(set);
    view->visible.push_back(std::move(self));
  }
  for (const auto& [name, e] : members_) {
    view->connected.emplace(name, e.member);
    if (!e.member->hidden) view->visible.push_back(e.member);
  }
  std::sort(view->visible.begin(), view->visible.end(),
            [](const auto& a, const auto& b) { return a->name < b->name; });
  for (const auto& m : view->visible) view->by_region[m->region].push_back(m.get());
  view->routes = RouteIndex(view->visible);
  if (settings_.peer.metrics) {
    std::map<std::string, std::size_t> per_region;
    for (const auto& [region, members] : view->by_region) per_region[region] = members.size();
    settings_.peer.metrics->set_nodes_per_region(per_region);
  }
  view_.publish(std::move(view));
  changed_.notify_all();
}

// ---- telemetry ---------------------------------------------------------------

void Cluster::emit_telemetry(telemetry::Event event, EventData data) {
  telemetry::Telemetry* t = settings_.telemetry;
  if (t == nullptr || !t->wanted(event)) return;
  asio::post(events_strand_, [t, event, d = std::move(data)] {
    telemetry::Metadata md;
    md.node = d.node;
    md.region = d.region;
    md.reason = d.reason;
    md.peer = d.peer;
    md.attempt = d.attempt;
    t->emit(event, {}, md);
  });
}

void Cluster::record_refusal(wire::RefuseReason reason, const std::string& peer_address) {
  if (reason == wire::RefuseReason::already_connected) return;
  const char* name = wire::to_string(reason);
  if (settings_.peer.metrics) settings_.peer.metrics->handshake_refused(name);
  emit_telemetry(telemetry::Event::connection_refused, {"", "", name, peer_address});
}

// ---- subscribers, waiting, leaving --------------------------------------------

std::uint64_t Cluster::subscribe(std::function<void(const MembershipEvent&)> handler) {
  std::lock_guard lock(mutex_);
  const auto id = next_subscriber_++;
  subscribers_[id] = std::move(handler);
  return id;
}

void Cluster::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  subscribers_.erase(id);
}

// Locked. Posting under the lock keeps events in the order they happened.
void Cluster::emit(MembershipEvent event) {
  if (subscribers_.empty()) return;
  asio::post(events_strand_, [this, event = std::move(event)] {
    std::vector<std::function<void(const MembershipEvent&)>> handlers;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, h] : subscribers_) handlers.push_back(h);
    }
    for (const auto& h : handlers) {
      try {
        h(event);
      } catch (const std::exception& e) {
        fly::log::get().error("flyrpc: membership subscriber threw: {}", e.what());
      }
    }
  });
}

bool Cluster::wait_until(const std::function<bool(const ClusterView&)>& ready,
                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return ready(*view_.load()); });
}

std::string Cluster::last_join_error() const {
  std::lock_guard lock(mutex_);
  return last_join_error_;
}

void Cluster::leave() {
  std::lock_guard lock(mutex_);
  leave_locked("node stopping");
}

// Locked. Sends and closes are asynchronous (peer strands), so nothing here
// calls back into the cluster under the lock.
void Cluster::leave_locked(const std::string& goodbye) {
  if (leaving_) return;
  leaving_ = true;
  std::vector<std::shared_ptr<detail::Peer>> peers;
  for (auto& [address, t] : targets_) t.timer->cancel();
  for (const auto& [name, e] : members_) peers.push_back(e.peer);
  for (const auto& [id, p] : pending_) peers.push_back(p);
  asio::post(accept_strand_, [this] {
    asio::error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
  });
  asio::post(io_, [this] { resolver_.cancel(); });
  for (const auto& p : peers) {
    p->send([&](detail::Buffer& out) { wire::encode_goodbye(out, goodbye); });
    p->close_after_flush("this node is " + std::string(replaced_ ? "replaced" : "stopping"));
  }
}

// ---- duplicate names -------------------------------------------------------------

void Cluster::refuse_replaced(const std::shared_ptr<detail::Peer>& peer, const std::string& name) {
  const std::string message = "replaced by a newer node named \"" + name +
                              "\" (a later start of that name is in the cluster; this process "
                              "must stop)";
  // Version 1 has no `replaced`; it takes duplicate_name as "retry later".
  const bool knows_replaced = peer->peer_hello().max_version >= 2;
  refuse(peer, knows_replaced ? wire::RefuseReason::replaced : wire::RefuseReason::duplicate_name,
         message);
}

void Cluster::displace_member(const std::string& name, const std::string& newcomer_address) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  const auto old = it->second.peer;
  fly::log::get().warn(
      "flyrpc: node {} at {} is replaced by a newer process of the same name at {}", name,
      old->remote_address(), newcomer_address);
  member_down(name, "replaced by a newer node of the same name at " + newcomer_address);
  refuse_replaced(old, name);
}

void Cluster::replaced_by(const std::string& told_by) {
  if (replaced_ || leaving_) return;
  replaced_ = true;
  const std::string reason = "replaced by a newer node named \"" + settings_.name +
                             "\" (a later start of this name joined the cluster; told by " +
                             told_by + ")";
  fly::log::get().error("flyrpc: this node was {}; it leaves the cluster and stops dialling",
                        reason);
  last_join_error_ = reason;
  NodeInfo self{settings_.name, settings_.region, self_address(), settings_.hidden, {}};
  for (auto& f : functions_.list()) self.functions.push_back(std::move(f.name));
  std::sort(self.functions.begin(), self.functions.end());
  emit({MembershipEvent::Kind::replaced, std::move(self), reason});
  // Members go down as their connections close (on_closed).
  leave_locked("replaced by a newer node of the same name");
}

void Cluster::log_refusal(const std::string& key, const std::string& line) {
  auto it = refusal_logs_.try_emplace(key).first;
  std::size_t suppressed = 0;
  if (!it->second.allow(suppressed)) return;
  if (suppressed == 0) {
    fly::log::get().warn("{}", line);
  } else {
    fly::log::get().warn("{} ({} more like it since the last message)", line, suppressed);
  }
  // Bounded: a scan of many addresses must not grow this forever.
  if (refusal_logs_.size() > 1024) refusal_logs_.clear();
}

}  // namespace fly::cluster
