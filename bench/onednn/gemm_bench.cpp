// gemm_bench: oneDNN reference figures for the kernels README.
//
// Measures, for M=N=K in {256, 512, 1024}:
//   - dnnl_sgemm                      (float32 BLAS-style GEMM)
//   - matmul primitive f32            (weights pre-reordered, format_tag::any)
//   - dnnl_gemm_u8s8s32               (int8 BLAS-style GEMM, int32 output)
//   - matmul primitive u8 x s8 -> s32 (weights pre-reordered)
//   - matmul primitive u8 x s8 -> s8  (per-channel output scale, like QGemm)
// and the ResNet-50 3x3 (56x56x64->64) / 1x1 (56x56x256->64) int8 convolutions (NHWC, u8 src, s8 weights, s8 dst).
// Threads come from OMP_NUM_THREADS (Debian's libdnnl uses OpenMP); ONEDNN_MAX_CPU_ISA=AVX2 restricts the ISA.
//
// Timing: best of repeated batches (wall clock), and for one thread also the
// thread CPU time (robust against other processes on a shared machine).
// Output: one line per case: name GOPS(wall) GOPS(cpu).
#include <dnnl.h>
#include <dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
static double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double min_time = 1.0;

static void measure(const std::string& name, double ops, const std::function<void()>& fn) {
  fn();  // warm up (JIT, reorders)
  double best = 0, t_start = now(), cpu_ops = 0, cpu_t = 0;
  while (now() - t_start < min_time) {
    double t0 = now(), c0 = cpu_now();
    int n = 0;
    while (n == 0 || now() - t0 < 0.01) {
      fn();
      n++;
    }
    double dt = now() - t0;
    cpu_t += cpu_now() - c0;
    cpu_ops += ops * n;
    if (ops * n / dt > best) best = ops * n / dt;
  }
  printf("%-40s %8.1f GOPS(wall-best) %8.1f GOPS(cpu)\n", name.c_str(), best / 1e9, cpu_ops / cpu_t / 1e9);
  fflush(stdout);
}

int main(int argc, char** argv) {
  if (argc > 1) min_time = atof(argv[1]);
  std::mt19937 rng(1);
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  for (int n : {256, 512, 1024}) {
    const double ops = 2.0 * n * n * n;
    std::vector<float> fa(n * n), fb(n * n), fc(n * n);
    std::vector<uint8_t> ua(n * n);
    std::vector<int8_t> sb(n * n), s8c(n * n);
    std::vector<int32_t> ic(n * n);
    std::uniform_real_distribution<float> uf(-1, 1);
    std::uniform_int_distribution<int> ui(0, 255), si(-127, 127);
    for (auto& v : fa) v = uf(rng);
    for (auto& v : fb) v = uf(rng);
    for (auto& v : ua) v = ui(rng);
    for (auto& v : sb) v = si(rng);
    int32_t co = 0;
    std::string sz = std::to_string(n);
    measure("sgemm/" + sz, ops, [&] {
      dnnl_sgemm('N', 'N', n, n, n, 1.f, fa.data(), n, fb.data(), n, 0.f, fc.data(), n);
    });
    measure("gemm_u8s8s32/" + sz, ops, [&] {
      dnnl_gemm_u8s8s32('N', 'N', 'F', n, n, n, 1.f, ua.data(), n, 0, sb.data(), n, 0, 0.f, ic.data(), n, &co);
    });
    // matmul primitives with pre-reordered weights
    memory::dims a_d = {n, n}, b_d = {n, n}, c_d = {n, n};
    auto run_matmul = [&](memory::data_type at, memory::data_type bt, memory::data_type ct, void* a, void* b, void* c,
                          const std::string& name, bool scaled) {
      memory::desc a_md(a_d, at, memory::format_tag::ab), b_md(b_d, bt, memory::format_tag::any),
          c_md(c_d, ct, memory::format_tag::ab), b_user(b_d, bt, memory::format_tag::ab);
      primitive_attr attr;
      std::vector<float> scales(n, 0.001f);
      if (scaled) attr.set_output_scales(2, scales);
      auto pd = matmul::primitive_desc(matmul::desc(a_md, b_md, c_md), attr, eng);
      memory am(a_md, eng, a), bu(b_user, eng, b), cm(c_md, eng, c), bm(pd.weights_desc(), eng);
      reorder(bu, bm).execute(strm, bu, bm);
      strm.wait();
      matmul mm(pd);
      measure(name + "/" + sz + " [" + pd.impl_info_str() + "]", ops, [&] {
        mm.execute(strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
        strm.wait();
      });
    };
    run_matmul(memory::data_type::f32, memory::data_type::f32, memory::data_type::f32, fa.data(), fb.data(), fc.data(),
               "matmul_f32", false);
    run_matmul(memory::data_type::u8, memory::data_type::s8, memory::data_type::s32, ua.data(), sb.data(), ic.data(),
               "matmul_u8s8s32", false);
    run_matmul(memory::data_type::u8, memory::data_type::s8, memory::data_type::s8, ua.data(), sb.data(), s8c.data(),
               "matmul_u8s8s8", true);
  }
  // int8 convolutions, NHWC
  struct ConvCase {
    const char* name;
    int h, w, c, oc, k, pad;
  } convs[] = {{"conv_u8s8s8/resnet50-3x3-56x56x64-64", 56, 56, 64, 64, 3, 1},
               {"conv_u8s8s8/resnet50-1x1-56x56x256-64", 56, 56, 256, 64, 1, 0}};
  for (auto& cc : convs) {
    memory::dims src_d = {1, cc.c, cc.h, cc.w}, w_d = {cc.oc, cc.c, cc.k, cc.k}, dst_d = {1, cc.oc, cc.h, cc.w};
    memory::desc src_md(src_d, memory::data_type::u8, memory::format_tag::nhwc),
        w_md(w_d, memory::data_type::s8, memory::format_tag::any),
        dst_md(dst_d, memory::data_type::s8, memory::format_tag::nhwc),
        w_user(w_d, memory::data_type::s8, memory::format_tag::oihw);
    primitive_attr attr;
    attr.set_output_scales(2, std::vector<float>(cc.oc, 0.002f));
    auto d = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_md, w_md,
                                       dst_md, {1, 1}, {cc.pad, cc.pad}, {cc.pad, cc.pad});
    auto pd = convolution_forward::primitive_desc(d, attr, eng);
    std::vector<uint8_t> src(cc.h * cc.w * cc.c);
    std::vector<int8_t> w(cc.oc * cc.c * cc.k * cc.k), dst(cc.h * cc.w * cc.oc);
    std::uniform_int_distribution<int> ui(0, 255), si(-127, 127);
    for (auto& v : src) v = ui(rng);
    for (auto& v : w) v = si(rng);
    memory sm(src_md, eng, src.data()), wu(w_user, eng, w.data()), wm(pd.weights_desc(), eng),
        dm(pd.dst_desc(), eng, dst.data());
    reorder(wu, wm).execute(strm, wu, wm);
    strm.wait();
    convolution_forward conv(pd);
    double ops = 2.0 * cc.h * cc.w * cc.oc * cc.c * cc.k * cc.k;
    measure(std::string(cc.name) + " [" + pd.impl_info_str() + "]", ops, [&] {
      conv.execute(strm, {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}});
      strm.wait();
    });
  }
  return 0;
}
