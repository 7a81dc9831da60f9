#include "cluster/cluster_view.hpp"

#include <algorithm>

namespace fly::cluster {

NodeInfo info_of(const Member& m) {
  NodeInfo info{m.name, m.region, m.address, m.hidden, {}, !m.peer.expired() || m.is_self};
  if (m.functions) {
    info.functions.assign(m.functions->begin(), m.functions->end());
    std::sort(info.functions.begin(), info.functions.end());
  }
  return info;
}

}  // namespace fly::cluster
