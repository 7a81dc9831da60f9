// Membership: who is connected, which connection is *the* one for each pair,
// what each member exports, and the region table built from it. Also the
// listener and the dialer (seeds, gossip, DNS, reconnect with back-off).
//
// Threading: PeerEvents callbacks arrive on peers' strands, dial and accept
// completions on I/O threads, API calls on user threads; all membership state
// is guarded by one mutex (changes are rare: joins, leaves, announces). The
// read path — view() — takes no lock. Subscriber callbacks run in order on a
// strand of their own, never under the mutex.
//
// The class is implemented by concern: cluster.cpp (construction, making
// connections, leaving), listener.cpp, dialer.cpp, admission.cpp, gossip.cpp,
// membership.cpp.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/log_limiter.hpp"
#include "cluster/cluster_view.hpp"
#include "cluster/snapshot.hpp"
#include "fly/function.hpp"
#include "fly/membership.hpp"
#include "fly/telemetry.hpp"
#include "net/heartbeat_sweep.hpp"
#include "net/peer.hpp"

namespace fly::telemetry {
class NodeMetrics;
}

namespace fly::cluster {

struct ClusterSettings {
  std::string name;
  std::string region;
  bool hidden = false;
  std::string listen_host;  ///< "" = do not listen
  std::uint16_t port = 4370;
  std::string advertise_address;
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  std::size_t max_pending_handshakes = 64;
  /// Lazy connections (NodeOptions::lazy_connections; lazy.cpp): members
  /// gossiped to this node are remembered (`known_`), not dialled; a call
  /// dials them (connect_on_demand), and a connection dialled that way is
  /// closed after `idle_close` without calls. Seeds are dialled and kept.
  bool lazy = false;
  std::chrono::milliseconds idle_close{60000};
  /// What every connection, accepted and dialled, gets: cookie, frame limit,
  /// heartbeat and handshake timing, TLS (null: plaintext), and `metrics`,
  /// where membership, refusals, reconnects and connection bytes are counted
  /// (null: not counted). `peer.hello` and `peer.heartbeat` are ignored: each
  /// connection gets this node's HELLO, built when it is made (hello_for),
  /// and the Cluster's own heartbeat sweep.
  net::PeerSettings peer;
  /// Where cluster events are emitted. Null: not emitted. It and
  /// `peer.metrics` must outlive the Cluster and every handler it posted to
  /// the io_context.
  telemetry::Telemetry* telemetry = nullptr;
};

class Cluster final : public net::PeerEvents {
 public:
  Cluster(asio::io_context& io, ClusterSettings settings, FunctionRegistry& functions,
          net::CallHandler& calls);
  ~Cluster() override;

  /// Listens (throws fly::ConfigError if it cannot) and publishes this node.
  void start();
  /// Dials `address` ("host:port") now and keeps it as a permanent target:
  /// redialled with back-off whenever it is not connected. Thread-safe.
  void add_seed(const std::string& address);
  /// Stops accepting, says GOODBYE to every peer and closes them.
  void leave();

  /// The region table (lock-free; see SnapshotCell::read's contract).
  const ClusterView& view() const { return view_.read(); }
  std::shared_ptr<const ClusterView> snapshot() const { return view_.load(); }

  /// Re-announces this node's functions to every peer.
  void functions_changed();

  std::uint16_t listen_port() const noexcept { return listen_port_; }

  std::uint64_t subscribe(std::function<void(const MembershipEvent&)> handler);
  void unsubscribe(std::uint64_t id);

  /// Waits until `ready(view)` holds or `timeout` passes.
  bool wait_until(const std::function<bool(const ClusterView&)>& ready,
                  std::chrono::milliseconds timeout);

  /// Lazy connections: dials the members this node knows of by gossip and is
  /// not connected to — those of `region`, or the one named `node` (when not
  /// empty), or every one (both empty) — and waits until `ready(view)` holds,
  /// every one of those dials ended (up or failed), or `deadline`. Returns
  /// ready(view) at the end; false at once if there was nothing to dial
  /// (full mesh: always). Blocks the caller until then. REQUIRES: on an I/O
  /// thread of this node, a `deadline` of now (the dials need that thread).
  bool connect_on_demand(std::string_view region, std::string_view node,
                         const std::function<bool(const ClusterView&)>& ready,
                         std::chrono::steady_clock::time_point deadline);

  /// The last reason a dial or handshake failed ("" if none): for tools that
  /// must say why they could not join.
  std::string last_join_error() const;

  // net::PeerEvents
  void on_authenticated(const std::shared_ptr<net::Peer>& peer) override;
  void on_control_frame(const std::shared_ptr<net::Peer>& peer,
                        const wire::FrameView& frame) override;
  void on_closed(const std::shared_ptr<net::Peer>& peer, const net::CloseInfo& info) override;

 private:
  struct DialTarget {
    std::string address;
    bool permanent = false;  ///< seeds and DNS: retried forever
    std::string name;        ///< learned at authentication
    unsigned attempts = 0;
    bool in_progress = false;
    /// Lazy connections: dialled for a call (connect_on_demand), so closed
    /// when idle, and not redialled when it fails or closes.
    bool on_demand = false;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void accept_next();
  /// A failed accept: logs (at most once a second) and re-arms after a pause
  /// that grows while the error repeats, so that running out of descriptors
  /// does not spin a core. Existing connections are served meanwhile.
  void accept_failed(const asio::error_code& ec);
  void on_accept(asio::ip::tcp::socket socket);
  void dial(const std::string& address, bool permanent);  // locked
  void attempt(const std::string& address);               // unlocked
  void connect_resolved(const std::string& address, asio::ip::tcp::resolver::results_type r);
  void dial_failed(const std::string& address, const std::string& why);  // unlocked
  void schedule_retry(DialTarget& target);                               // locked
  void refuse_busy(asio::ip::tcp::socket& socket);
  std::shared_ptr<net::Peer> make_peer(asio::ip::tcp::socket socket,
                                       const std::string& dialed_address);
  wire::Hello hello_for(const asio::ip::tcp::socket& socket) const;
  bool is_decider_for(const std::string& peer_name) const { return settings_.name < peer_name; }
  void refuse(const std::shared_ptr<net::Peer>& peer, wire::RefuseReason reason,
              const std::string& message);
  // Names: of two live incarnations of one name, the newer (greater: later
  // start, wire::make_incarnation) wins on every node.
  /// Locked. Tells an older incarnation of `name` it lost: REFUSE replaced
  /// (duplicate_name to a version-1 peer, which knows no better).
  void refuse_replaced(const std::shared_ptr<net::Peer>& peer, const std::string& name);
  /// Locked. Refuses `peer`, an older incarnation of its name, and logs why
  /// (rate-limited): "... (`replaced_by`)", e.g. "this node ... replaced it".
  void refuse_older(const std::shared_ptr<net::Peer>& peer, const char* replaced_by);
  /// What settle_name found and did.
  enum class NameClash {
    peer_older,       ///< `peer` refused (refuse_older); the member stays
    peer_newer,       ///< the member displaced (displace_member): its entry is gone
    same_incarnation  ///< nothing done: two connections of one process
  };
  /// Locked. `peer` authenticated with the name of a member of incarnation
  /// `member_incarnation` (on another connection): the newer one wins.
  NameClash settle_name(const std::shared_ptr<net::Peer>& peer, std::uint64_t member_incarnation);
  /// Locked. A newer incarnation of `name` (a member's) authenticated: the
  /// member's connection is told and closed, and the member is down.
  void displace_member(const std::string& name, const std::string& newcomer_address);
  /// Locked. This node lost its name to a newer incarnation: logs why, tells
  /// the application (MembershipEvent::Kind::replaced) and leaves.
  void replaced_by(const std::string& told_by);
  /// Locked. Logs a refusal (sent or received) as a warning, at most once a
  /// second per `key` (the peer's name, else its address): a redial loop must
  /// not flood the log.
  void log_refusal(const std::string& key, const std::string& line);
  /// Locked. leave(), with `goodbye` as the GOODBYE reason.
  void leave_locked(const std::string& goodbye);
  void send_announce(net::Peer& peer);                                   // locked
  void send_peers(net::Peer& peer, const std::string& except);           // locked
  void maybe_up(const std::shared_ptr<net::Peer>& peer);                 // locked
  void member_down(const std::string& name, const std::string& reason);  // locked
  void publish();                                                        // locked
  void emit(MembershipEvent event);                                      // locked
  std::string self_address() const;
  // Telemetry. A cluster event with its metadata owned, for emitting later.
  struct EventData {
    std::string node, region, reason, peer;
    std::uint32_t attempt = 0;
  };
  /// Emits `event` on events_strand_: never under mutex_ (a handler may call
  /// back into the node), in the order the changes happened. A relaxed load
  /// and a branch when no handler is attached.
  void emit_telemetry(telemetry::Event event, EventData data);
  /// A refused handshake: counts it and emits connection_refused (not for
  /// already_connected, the normal end of a simultaneous dial).
  void record_refusal(wire::RefuseReason reason, const std::string& peer_address);

  asio::io_context& io_;
  /// One heartbeat timer for every authenticated connection of this node.
  /// Before settings_, whose peer.heartbeat points to it.
  net::HeartbeatSweep heartbeat_;
  ClusterSettings settings_;
  FunctionRegistry& functions_;
  net::CallHandler& calls_;
  const std::uint64_t incarnation_;
  /// The acceptor, its retry timer and their handlers, one at a time.
  asio::strand<asio::io_context::executor_type> accept_strand_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::resolver resolver_;
  asio::strand<asio::io_context::executor_type> events_strand_;
  std::uint16_t listen_port_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool leaving_ = false;
  /// ANNOUNCE's `generation`, sent as PROTOCOL.md says (it grows with each
  /// announce) but read by no receiver: frames on one connection arrive in
  /// order and every connection starts with a fresh ANNOUNCE, so a stale one
  /// cannot overtake a newer one.
  std::uint64_t announce_generation_ = 0;
  /// What the cluster knows of one connection beyond what net::Peer does,
  /// from make_peer until on_closed (which takes it out of links_).
  struct Link {
    bool activated = false;     ///< routable: ACTIVATE sent (decider) or received
    bool said_goodbye = false;  ///< GOODBYE received: do not reconnect
    bool announced = false;     ///< their ANNOUNCE arrived
    bool refused = false;       ///< we refused it: ignore whatever else it sends
    std::shared_ptr<const FunctionSet> functions;  ///< from their last ANNOUNCE
    // Lazy connections (lazy.cpp): a connection this node dialled on demand
    // is closed after idle_close without calls in either direction.
    bool on_demand = false;
    std::uint64_t seen_activity = 0;  ///< Peer::call_activity() at the last idle check
    std::chrono::steady_clock::time_point quiet_since{};
  };
  /// Locked. The record of a connection not yet closed, else null.
  Link* link_of(const net::Peer& peer) {
    auto it = links_.find(peer.id());
    return it == links_.end() ? nullptr : &it->second;
  }
  /// Every connection made and not yet closed, by Peer::id().
  std::unordered_map<std::uint64_t, Link> links_;
  /// Connections not yet members: in handshake, or waiting for ACTIVATE/ANNOUNCE.
  std::unordered_map<std::uint64_t, std::shared_ptr<net::Peer>> pending_;
  std::size_t handshaking_inbound_ = 0;
  // refuse_busy's log line for max_pending_handshakes, once a second.
  detail::LogLimiter busy_log_;
  /// Members by name, with the connection that serves each (owned here).
  struct Entry {
    std::shared_ptr<const Member> member;
    std::shared_ptr<net::Peer> peer;
  };
  std::map<std::string, Entry, std::less<>> members_;
  std::map<std::string, DialTarget, std::less<>> targets_;
  /// Lazy connections: members gossiped to this node (PEERS) or once
  /// connected, by name, whether connected now or not — what
  /// connect_on_demand dials. Out when their dial fails or they say GOODBYE
  /// (other than for idleness). At most kMaxKnown.
  std::map<std::string, std::shared_ptr<const Member>, std::less<>> known_;
  static constexpr std::size_t kMaxKnown = 65536;
  detail::LogLimiter known_full_log_;
  /// Locked. Lazy connections: remembers a gossiped member.
  void remember(const std::string& name, const std::string& region, const std::string& address);
  /// Locked. Lazy connections: an on-demand dial to `address` failed or its
  /// connection closed: no redial, and a failed dial forgets the member.
  void drop_on_demand(const std::string& address, bool forget);
  /// Lazy connections: the idle check, every idle_close / 4 while a
  /// connection dialled on demand is up; closes those idle for idle_close.
  void arm_idle_check();  // locked
  void idle_check();      // unlocked
  asio::steady_timer idle_timer_;
  bool idle_armed_ = false;  // mutex_
  /// Listen addresses that PEERS frames named while they were not members:
  /// a node that comes up after we heard of it by gossip was gossiped to the
  /// other members by the same sender, so we do not gossip it again (one
  /// PEERS per newcomer per member, not one per member pair: a mass start of
  /// n nodes sends n² such frames instead of n³). Taken out when it comes up;
  /// cleared if it ever holds kMaxHeardOf (names of nodes that never came).
  std::set<std::string, std::less<>> heard_of_;
  /// The distinct function sets members announced (shared_function_set);
  /// weak: a set goes with the last member that exports it.
  std::vector<std::weak_ptr<const FunctionSet>> function_sets_;
  /// This node as the views list it, kept between publishes (made again when
  /// its functions or its address change).
  std::shared_ptr<const Member> self_member_;
  std::shared_ptr<const FunctionSet> shared_function_set(FunctionSet functions);
  static constexpr std::size_t kMaxHeardOf = 4096;
  std::map<std::uint64_t, std::function<void(const MembershipEvent&)>> subscribers_;
  std::uint64_t next_subscriber_ = 1;
  std::string last_join_error_;
  bool replaced_ = false;  ///< a newer incarnation of our name took over (replaced_by)
  /// Refusal log lines by peer name (or address before authentication).
  std::map<std::string, detail::LogLimiter, std::less<>> refusal_logs_;

  // The accept loop's back-off (on accept_strand_).
  asio::steady_timer accept_retry_;
  std::chrono::milliseconds accept_pause_{0};
  detail::LogLimiter accept_log_;
  detail::LogLimiter accept_again_log_;

  SnapshotCell<ClusterView> view_;
};

}  // namespace fly::cluster
