// c-ares status codes as short names and as sentences (dns_status.hpp).
#include "discovery/dns_status.hpp"

#include <ares.h>
#include <fmt/format.h>

namespace fly::discovery {

std::string status_name(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return "ok";
    case ARES_ENODATA:
      return "nodata";
    case ARES_ENOTFOUND:
      return "nxdomain";
    case ARES_ESERVFAIL:
      return "servfail";
    case ARES_EREFUSED:
      return "refused";
    case ARES_ECONNREFUSED:
      return "connection_refused";
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_EFORMERR:
      return "formerr";
    case ARES_ENOTIMP:
      return "notimp";
    case ARES_EBADRESP:
      return "badresp";
    case ARES_ECANCELLED:
      return "cancelled";
    case ARES_EBADNAME:
      return "badname";
    case ARES_ENOMEM:
      return "nomem";
    default:
      return fmt::format("error{}", ares_status);
  }
}

std::string failure_text(int ares_status, const std::string& resolver,
                         std::chrono::milliseconds timeout) {
  switch (ares_status) {
    case ARES_ENODATA:
      return fmt::format("the name exists but has no AAAA or A records (resolver {})", resolver);
    case ARES_ENOTFOUND:
      return fmt::format("NXDOMAIN, the name does not exist (resolver {})", resolver);
    case ARES_ESERVFAIL:
      return fmt::format("SERVFAIL from resolver {}", resolver);
    case ARES_EREFUSED:
      return fmt::format("resolver {} refused the query", resolver);
    case ARES_ECONNREFUSED:
      return fmt::format("connection refused by resolver {} (is a DNS server listening there?)",
                         resolver);
    case ARES_ETIMEOUT:
      return fmt::format("no answer from resolver {} within {} ms", resolver, timeout.count());
    default:
      return fmt::format("{} (c-ares: {}, resolver {})", status_name(ares_status),
                         ares_strerror(ares_status), resolver);
  }
}

std::string format_interval(std::chrono::milliseconds interval) {
  if (interval.count() % 1000 == 0) return fmt::format("{}s", interval.count() / 1000);
  return fmt::format("{}ms", interval.count());
}

}  // namespace fly::discovery
