// The database URL of a node (fly/postgres/url.hpp): every rule of the table
// in docs/POSTGRES.md, and the errors.
#include <gtest/gtest.h>

#include "fly/errors.hpp"
#include "fly/postgres/lsn.hpp"
#include "fly/postgres/url.hpp"

namespace {

using fly::postgres::rewrite_database_url;
using fly::postgres::UrlContext;

constexpr UrlContext kPrimary{.production = true, .primary = true};
constexpr UrlContext kReplica{.production = true, .primary = false};
constexpr UrlContext kDevelopment{.production = false, .primary = false};

TEST(DatabaseUrl, DevelopmentLeavesTheUrlAsIs) {
  EXPECT_EQ(rewrite_database_url("postgres://u:p@localhost:5432/app", kDevelopment),
            "postgres://u:p@localhost:5432/app");
  EXPECT_EQ(rewrite_database_url("host=/tmp dbname=app", kDevelopment), "host=/tmp dbname=app");
}

TEST(DatabaseUrl, PrimaryGetsTheNearestHostAndKeepsItsPort) {
  EXPECT_EQ(rewrite_database_url("postgres://u:p@my-db.internal:5432/app", kPrimary),
            "postgres://u:p@top1.nearest.of.my-db.internal:5432/app");
}

TEST(DatabaseUrl, ReplicaGetsTheNearestHostAndPort5433) {
  EXPECT_EQ(rewrite_database_url("postgres://u:p@my-db.internal:5432/app", kReplica),
            "postgres://u:p@top1.nearest.of.my-db.internal:5433/app");
}

TEST(DatabaseUrl, FlycastHostIsLeftAloneButTheReplicaPortStillApplies) {
  EXPECT_EQ(rewrite_database_url("postgres://u:p@my-db.flycast:5432/app", kPrimary),
            "postgres://u:p@my-db.flycast:5432/app");
  EXPECT_EQ(rewrite_database_url("postgres://u:p@my-db.flycast:5432/app", kReplica),
            "postgres://u:p@my-db.flycast:5433/app");
}

TEST(DatabaseUrl, Top1IsLeftAlone) {
  EXPECT_EQ(
      rewrite_database_url("postgres://u:p@top1.nearest.of.my-db.internal:5432/app", kPrimary),
      "postgres://u:p@top1.nearest.of.my-db.internal:5432/app");
  EXPECT_EQ(
      rewrite_database_url("postgres://u:p@top1.nearest.of.my-db.internal:5432/app", kReplica),
      "postgres://u:p@top1.nearest.of.my-db.internal:5433/app");
}

TEST(DatabaseUrl, Top2BecomesTop1) {
  EXPECT_EQ(
      rewrite_database_url("postgres://u:p@top2.nearest.of.my-db.internal:5432/app", kPrimary),
      "postgres://u:p@top1.nearest.of.my-db.internal:5432/app");
  EXPECT_EQ(rewrite_database_url("postgres://u:p@top2.nearest.of.my-db.internal/app", kReplica),
            "postgres://u:p@top1.nearest.of.my-db.internal:5433/app");
}

TEST(DatabaseUrl, MissingPortIsAddedOnlyOnAReplica) {
  EXPECT_EQ(rewrite_database_url("postgres://u@my-db.internal/app", kPrimary),
            "postgres://u@top1.nearest.of.my-db.internal/app");
  EXPECT_EQ(rewrite_database_url("postgres://u@my-db.internal/app", kReplica),
            "postgres://u@top1.nearest.of.my-db.internal:5433/app");
  EXPECT_EQ(rewrite_database_url("postgres://my-db.internal", kReplica),
            "postgres://top1.nearest.of.my-db.internal:5433");
}

TEST(DatabaseUrl, SchemeQueryAndEncodedUserInfoArePreserved) {
  EXPECT_EQ(rewrite_database_url("postgresql://u%40x:p%2Fq@my-db.internal:5432/app?sslmode=disable",
                                 kReplica),
            "postgresql://u%40x:p%2Fq@top1.nearest.of.my-db.internal:5433/app?sslmode=disable");
  EXPECT_EQ(rewrite_database_url("postgres://u:p@my-db.internal:5432?sslmode=disable", kReplica),
            "postgres://u:p@top1.nearest.of.my-db.internal:5433?sslmode=disable");
}

TEST(DatabaseUrl, IpAddressesAreNotGivenADnsPrefix) {
  EXPECT_EQ(rewrite_database_url("postgres://u:p@[fdaa:0:1::2]:5432/app", kReplica),
            "postgres://u:p@[fdaa:0:1::2]:5433/app");
  EXPECT_EQ(rewrite_database_url("postgres://u:p@10.0.0.7:5432/app", kPrimary),
            "postgres://u:p@10.0.0.7:5432/app");
}

TEST(DatabaseUrl, WhatCannotBeRewrittenIsAConfigErrorThatHidesThePassword) {
  for (const char* bad :
       {"mysql://u:secret@db:3306/app", "host=db dbname=app", "postgres://u:secret@/app",
        "postgres://u:secret@a:5432,b:5432/app", "postgres://u:secret@db:99999/app",
        "postgres://u:secret@db:x/app", "postgres://u:secret@[fdaa::1/app"}) {
    try {
      rewrite_database_url(bad, kReplica, "DATABASE_URL");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const fly::ConfigError& e) {
      EXPECT_EQ(e.setting(), "DATABASE_URL") << bad;
      EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
    }
  }
}

TEST(Lsn, ParsesPrintsAndOrders) {
  using fly::postgres::Lsn;
  EXPECT_EQ(Lsn::parse("0/0")->value, 0u);
  EXPECT_EQ(Lsn::parse("16/B374D848")->value, 0x16B374D848u);
  EXPECT_EQ(Lsn::parse("16/b374d848")->to_string(), "16/B374D848");
  EXPECT_EQ(Lsn{0x3000148}.to_string(), "0/3000148");
  EXPECT_LT(*Lsn::parse("0/FFFFFFFF"), *Lsn::parse("1/0"));
  for (const char* bad : {"", "/", "0/", "/0", "x/1", "1/123456789", "0 /1", "1/2/3", "-1/0"}) {
    EXPECT_FALSE(Lsn::parse(bad)) << bad;
  }
}

}  // namespace
