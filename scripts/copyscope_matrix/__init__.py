"""The kernel matrix: copyscope in qemu guests booting Debian's stock kernels."""
