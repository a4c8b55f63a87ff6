/* Loads and stores of activations stored as float or bf16 (.cu files only): kernels templated on the
 * element type compute in float and round to bf16 once, to nearest even, when they store. */
#ifndef MBT_CORE_BF16_CUH
#define MBT_CORE_BF16_CUH

#include <cuda_bf16.h>

typedef __nv_bfloat16 mbt_bf16;

static __device__ __forceinline__ float mbt_load(const float *p) { return *p; }
static __device__ __forceinline__ float mbt_load(const mbt_bf16 *p) { return __bfloat162float(*p); }
static __device__ __forceinline__ void mbt_store(float *p, float v) { *p = v; }
static __device__ __forceinline__ void mbt_store(mbt_bf16 *p, float v) { *p = __float2bfloat16_rn(v); }

#endif
