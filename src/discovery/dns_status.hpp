// Names and explanations of c-ares outcomes, for DnsPoller::last_status() and
// for the log lines a user reads when DNS discovery stops working.
#pragma once

#include <chrono>
#include <string>

namespace fly::discovery {

/// Short stable name of a c-ares status: "ok", "nodata", "nxdomain",
/// "servfail", "refused", "connection_refused", "timeout", "formerr",
/// "notimp", "badresp", "cancelled", or "error<N>".
std::string status_name(int ares_status);

/// What a failed poll means, in one phrase for a log line, e.g.
/// "SERVFAIL from resolver 127.0.0.1:53" or "no answer from resolver
/// 127.0.0.1:53 within 2000 ms". `resolver` describes where we asked.
std::string failure_text(int ares_status, const std::string& resolver,
                         std::chrono::milliseconds timeout);

/// "5s" for whole seconds, else "250ms": how log lines print an interval.
std::string format_interval(std::chrono::milliseconds interval);

}  // namespace fly::discovery
