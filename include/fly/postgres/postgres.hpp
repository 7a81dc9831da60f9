// The postgres component (find_package(flyrpc COMPONENTS postgres), target
// flyrpc::postgres): read-your-writes across regions on a Postgres primary
// and its replicas. docs/POSTGRES.md.
#pragma once

#include "fly/postgres/connection.hpp"
#include "fly/postgres/database.hpp"
#include "fly/postgres/errors.hpp"
#include "fly/postgres/lsn.hpp"
#include "fly/postgres/lsn_tracker.hpp"
#include "fly/postgres/pool.hpp"
#include "fly/postgres/url.hpp"
#include "fly/postgres/write.hpp"
