// What a fly::Node is made with: NodeOptions (every field documented with its
// default and its environment variable) and TlsOptions. Plain data: reading
// the environment and checking the values is src/node/node_options.cpp.
//
//   fly::NodeOptions o = fly::NodeOptions::from_env();
//   o.port = 0;                       // any free port (tests)
//   fly::Node node(std::move(o));
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spdlog {
class logger;  // only an application that hands flyrpc its own logger includes spdlog
}

namespace fly {

/// NodeOptions::max_frame_size's default: 16 MiB.
inline constexpr std::size_t kDefaultMaxFrameSize = 16 * 1024 * 1024;

/// TLS 1.3 between nodes (README "TLS"), for networks that are not already
/// encrypted (Fly's private network is: WireGuard). Off by default. On when
/// certificate_file is set (or, for a hidden node that does not listen, when
/// only ca_file is: it then dials without a certificate of its own). Every
/// node of a cluster must agree: a TLS node and a plaintext one cannot talk.
/// Each side checks the other's certificate chain against ca_file, with no
/// host name check (nodes are dialled by IP); the cookie handshake still
/// runs inside TLS. Files are PEM and read once, at Node construction.
struct TlsOptions {
  /// This node's certificate (leaf first, then any intermediates). Default:
  /// FLY_RPC_TLS_CERT, else "" (TLS off).
  std::string certificate_file;
  /// Its private key, not encrypted. Required with certificate_file.
  /// Default: FLY_RPC_TLS_KEY, else "".
  std::string private_key_file;
  /// The CA certificate(s) every peer's certificate must chain to. Required
  /// when TLS is on. Default: FLY_RPC_TLS_CA, else "".
  std::string ca_file;
  /// Mutual TLS: refuse connecting peers that present no certificate (a
  /// certificate that is presented is always verified). Default false
  /// (FLY_RPC_TLS_MUTUAL=1 turns it on).
  bool require_client_certificate = false;

  bool enabled() const noexcept { return !certificate_file.empty() || !ca_file.empty(); }
};

/// Everything a node needs; every field says its default. from_env() fills
/// them from the environment (docs: README "Environment").
struct NodeOptions {
  /// Unique name in the cluster. Default: FLY_MACHINE_ID, else "<host>-<pid>".
  std::string name;
  /// This node's region. Default: FLY_REGION, else MY_REGION, else "local".
  std::string region = "local";
  /// The primary region. Default: PRIMARY_REGION, else "local".
  std::string primary_region = "local";
  /// Address to listen on (IPv4 or IPv6 literal; "::" or "0.0.0.0" for all).
  /// Default: FLY_PRIVATE_IP when set, else "127.0.0.1". Empty: do not listen
  /// (allowed only for hidden nodes).
  std::string listen_host = "127.0.0.1";
  /// Cluster port, the same on every node. Default 4370 (FLY_RPC_PORT).
  /// 0 picks a free port (tests); see Node::listen_port().
  std::uint16_t port = 4370;
  /// Address peers should dial, "host:port". Default: empty, meaning the
  /// listen address (or, when listening on a wildcard, the local address of
  /// each connection).
  std::string advertise_address;
  /// The shared secret every node of the cluster must have. Default:
  /// FLY_RPC_COOKIE, else the contents of ~/.flyrpc.cookie (created with a
  /// random secret on first use, like ~/.erlang.cookie). Never sent on the wire.
  std::string cookie;
  /// Hidden nodes (tools, shells) connect and can call, but appear in no
  /// region table and are never routed to. Default false.
  bool hidden = false;
  /// Static peers, "host:port" each ([v6]:port for IPv6). Default: FLY_RPC_SEEDS.
  std::vector<std::string> seeds;
  /// DNS discovery: a name whose AAAA/A records are the cluster's nodes,
  /// dialled at `port`. Default: FLY_RPC_DNS_NAME, else "<FLY_APP_NAME>.internal"
  /// when FLY_APP_NAME is set, else none.
  std::string dns_name;
  /// DNS resolver "host[:port]". Default: FLY_RPC_DNS_SERVER, else the system's.
  std::string dns_server;
  /// Between DNS polls. Default 5 s.
  std::chrono::milliseconds dns_poll_interval{5000};
  /// Send a PING when nothing was sent for this long. Default 2 s: what an
  /// idle node costs is one PING sent and one read per peer per interval
  /// (docs/SCALING.md).
  std::chrono::milliseconds heartbeat_interval{2000};
  /// Declare a peer down when nothing was received for this long; checked
  /// four times per interval, so a silent peer is down 4.5 to 5 s after its
  /// last frame by default. Default 4.5 s.
  std::chrono::milliseconds heartbeat_timeout{4500};
  /// A connection must authenticate within this. Also the connect timeout. Default 5 s.
  std::chrono::milliseconds handshake_timeout{5000};
  /// Reconnect back-off: first delay, and the cap (with ±25% jitter). Defaults 100 ms, 5 s.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  /// Largest frame accepted or sent, bytes: what a frame's length field
  /// counts (docs/PROTOCOL.md), i.e. a result of n encoded bytes needs
  /// n + 10, arguments need their encoding + 14 + the function name's
  /// length. Over it: BadArguments (caller) or RemoteError "fly::FrameTooLarge"
  /// (result), both giving the sizes. Default 16 MiB.
  std::size_t max_frame_size = kDefaultMaxFrameSize;
  /// Lazy connections (docs/SCALING.md), for clusters past ~150 nodes: this
  /// node keeps connections to its seeds (with DNS discovery: to the three
  /// lowest addresses of the answer) and learns every other node by their
  /// gossip without connecting to it. The first call to a region (or node)
  /// with no connected node that exports the function connects to the known
  /// nodes there first and waits for one, bounded by the call's timeout (the
  /// call then has its own timeout); async calls wait in their initiating
  /// call — except on one of this node's I/O threads (Node::executor()),
  /// which the dial needs: there the call dials and fails at once with
  /// NodeDown saying so. A connection made that way is closed after
  /// idle_connection_timeout without calls (GOODBYE "idle": the other end
  /// keeps knowing this node); its node is then down for subscribers, with
  /// that reason. regions() lists regions known only by gossip; nodes() and
  /// region_nodes() list connected nodes only. Every node of a cluster should
  /// agree: a full-mesh node dials every node it hears of. Default false
  /// (FLY_RPC_LAZY_CONNECTIONS=1 turns it on).
  bool lazy_connections = false;
  /// With lazy_connections: close a connection this node made for calls
  /// after this long without a call in either direction (checked four times
  /// per period). Default 60 s.
  std::chrono::milliseconds idle_connection_timeout{60000};
  /// Connections allowed to be mid-handshake at once; more are refused. Default 64.
  std::size_t max_pending_handshakes = 64;
  /// Default timeout of a call. Default 5 s (as Fly RPC).
  std::chrono::milliseconds call_timeout{5000};
  /// On stop(), how long in-flight handlers may take to finish. Default 5 s.
  std::chrono::milliseconds drain_timeout{5000};
  /// Threads running the network. Default 1.
  unsigned io_threads = 1;
  /// Threads running exposed functions. Default 4.
  unsigned worker_threads = 4;
  /// Log one line per SEND, RESP and TIMEOUT (Fly RPC's verbose_logging;
  /// TIMEOUT at warning level). Default false (FLY_RPC_VERBOSE: 1/true/yes
  /// on, 0/false/no off, anything else an error).
  bool verbose_logging = false;
  /// The spdlog logger flyrpc logs to. Process-wide (the library has one
  /// logger): the Node constructor installs it, and it stays for every node
  /// until another is installed. Default: null, meaning flyrpc's own logger
  /// "flyrpc" on stderr (never stdout), at FLY_RPC_LOG_LEVEL, else the level
  /// SPDLOG_LEVEL gives it, else info. To use a sink of the application's:
  /// std::make_shared<spdlog::logger>("flyrpc", sink).
  std::shared_ptr<spdlog::logger> logger;
  /// Serve the Prometheus metrics at http://HOST:PORT/metrics, "HOST:PORT"
  /// as telemetry::parse_metrics_address reads it ("0.0.0.0:9091",
  /// "[::]:9091"; port 0 picks a free one). Default: FLY_RPC_METRICS (empty
  /// counts as unset), else "" (no endpoint; the metrics are still counted,
  /// see Node::metrics_text). docs/TELEMETRY.md.
  std::string metrics_address;
  /// TLS between nodes (see TlsOptions). Default: off; FLY_RPC_TLS_*.
  TlsOptions tls;

  /// Reads the environment (README "Environment"). Throws fly::ConfigError
  /// naming the variable for a malformed value.
  static NodeOptions from_env();
};

}  // namespace fly
