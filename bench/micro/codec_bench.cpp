// Encode, invoke and decode of a typed function: the per-call codec cost.
#include <benchmark/benchmark.h>

#include <string>

#include "fly/function.hpp"

namespace {

std::string upcase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void BM_EncodeArgs(benchmark::State& state) {
  fly::detail::Buffer b;
  const std::string s = "fly";
  for (auto _ : state) {
    b.clear();
    fly::detail::encode_args(b, s, 1, 2);
    benchmark::DoNotOptimize(b.data());
  }
}
BENCHMARK(BM_EncodeArgs);

void BM_InvokeEncoded(benchmark::State& state) {
  fly::FunctionRegistry reg;
  reg.expose("String.upcase", &upcase);
  fly::detail::Buffer in;
  fly::detail::encode_args(in, "fly");
  fly::detail::Buffer out;
  for (auto _ : state) {
    out.clear();
    reg.invoke("String.upcase", in.view(), out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_InvokeEncoded);

void BM_DecodeResult(benchmark::State& state) {
  fly::detail::Buffer out;
  msgpack::packer<fly::detail::Buffer>(out).pack(std::string("FLY"));
  for (auto _ : state) {
    msgpack::zone& z = fly::detail::scratch_zone();
    msgpack::object o;
    std::string err;
    fly::detail::decode_value(z, out.data(), out.size(), o, err);
    benchmark::DoNotOptimize(fly::detail::convert_result<std::string>(o, "String.upcase"));
  }
}
BENCHMARK(BM_DecodeResult);

void BM_DirectCallBaseline(benchmark::State& state) {
  std::string s = "fly";
  for (auto _ : state) benchmark::DoNotOptimize(upcase(s));
}
BENCHMARK(BM_DirectCallBaseline);

void BM_RegistryTypedCall(benchmark::State& state) {
  fly::FunctionRegistry reg;
  reg.expose("String.upcase", &upcase);
  std::string s = "fly";
  for (auto _ : state) benchmark::DoNotOptimize(reg.call<std::string>("String.upcase", s));
}
BENCHMARK(BM_RegistryTypedCall);

}  // namespace
