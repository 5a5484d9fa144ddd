"""Every numeric tolerance the tests use, in one place. Errors are norm-wise relative:
||a - b|| / max(||a||, ||b||) (see rnnlab.gradcheck.relative_error)."""

FD_REL = 1e-6  # hand-written gradient vs central finite differences, float64
TORCH_REL_F64 = 1e-10  # rnnlab vs PyTorch autograd with identical weights, float64
TORCH_REL_F32 = 1e-5  # the same in float32
FAST_REL_F64 = 1e-12  # fast kernels vs the reference step loop, float64
STEPWISE_REL = 1e-12  # T single-step calls vs one whole-sequence call, float64
FAST_REL_F32 = 1e-5  # float32 fast kernels vs the float64 reference loop
