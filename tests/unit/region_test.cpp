// Region identity: the Elixir library's fallbacks, and refusal of bad values.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "fly/errors.hpp"
#include "fly/region.hpp"

namespace {

// Sets the three region variables for one test and restores them afterwards.
class RegionEnv {
 public:
  explicit RegionEnv(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const char* name : {"FLY_REGION", "MY_REGION", "PRIMARY_REGION"}) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      ::unsetenv(name);
    }
    for (const auto& [k, v] : values) {
      ::setenv(k, v, 1);
    }
  }
  ~RegionEnv() {
    for (const auto& [k, v] : saved_) {
      if (v) {
        ::setenv(k.c_str(), v->c_str(), 1);
      } else {
        ::unsetenv(k.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST(RegionIdentity, DefaultsToLocalWhenNothingIsSet) {
  RegionEnv env({});
  auto id = fly::RegionIdentity::from_env();
  EXPECT_EQ(id.my_region, "local");
  EXPECT_EQ(id.primary_region, "local");
  EXPECT_TRUE(id.is_primary());
}

TEST(RegionIdentity, FlyRegionWinsOverMyRegion) {
  RegionEnv env({{"FLY_REGION", "lax"}, {"MY_REGION", "ord"}, {"PRIMARY_REGION", "syd"}});
  auto id = fly::RegionIdentity::from_env();
  EXPECT_EQ(id.my_region, "lax");
  EXPECT_EQ(id.primary_region, "syd");
  EXPECT_FALSE(id.is_primary());
}

TEST(RegionIdentity, MyRegionIsTheFallback) {
  RegionEnv env({{"MY_REGION", "ord"}});
  auto id = fly::RegionIdentity::from_env();
  EXPECT_EQ(id.my_region, "ord");
  EXPECT_EQ(id.primary_region, "local");
  EXPECT_FALSE(id.is_primary());
}

TEST(RegionIdentity, EmptyValuesCountAsUnset) {
  RegionEnv env({{"FLY_REGION", ""}, {"MY_REGION", "hkg"}, {"PRIMARY_REGION", ""}});
  auto id = fly::RegionIdentity::from_env();
  EXPECT_EQ(id.my_region, "hkg");
  EXPECT_EQ(id.primary_region, "local");
}

TEST(RegionIdentity, PrimaryWhenRegionsMatch) {
  RegionEnv env({{"FLY_REGION", "syd"}, {"PRIMARY_REGION", "syd"}});
  EXPECT_TRUE(fly::RegionIdentity::from_env().is_primary());
}

TEST(RegionIdentity, MalformedValueIsAConfigErrorNamingTheVariable) {
  for (const char* bad :
       {"SYD", "syd ", "s_yd", "-syd", "syd\n", "averyveryveryverylongregionnamethatgoesonandon"}) {
    RegionEnv env({{"PRIMARY_REGION", bad}});
    try {
      fly::RegionIdentity::from_env();
      ADD_FAILURE() << "accepted PRIMARY_REGION=" << bad;
    } catch (const fly::ConfigError& e) {
      EXPECT_EQ(e.setting(), "PRIMARY_REGION");
      EXPECT_EQ(e.value(), bad);
      EXPECT_NE(std::string(e.what()).find("PRIMARY_REGION"), std::string::npos);
      EXPECT_EQ(e.code(), fly::Errc::config);
    }
  }
  RegionEnv env({{"FLY_REGION", "Lax"}});
  EXPECT_THROW(fly::RegionIdentity::from_env(), fly::ConfigError);
}

TEST(RegionIdentity, ValidCodes) {
  EXPECT_TRUE(fly::is_valid_region("syd"));
  EXPECT_TRUE(fly::is_valid_region("us-east-1"));
  EXPECT_TRUE(fly::is_valid_region("local"));
  EXPECT_FALSE(fly::is_valid_region(""));
  EXPECT_FALSE(fly::is_valid_region("a b"));
}

}  // namespace
