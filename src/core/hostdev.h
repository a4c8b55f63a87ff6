/* MBT_HD: marks an inline function compiled both for the host (C) and for CUDA kernels (nvcc), so one
 * definition serves the CPU code and the GPU kernel that must compute exactly what it computes. */
#ifndef MBT_CORE_HOSTDEV_H
#define MBT_CORE_HOSTDEV_H

#ifdef __CUDACC__
#define MBT_HD __host__ __device__
#else
#define MBT_HD
#endif

#endif
