"""calflops- and DeepSpeed-shaped functions over flopsight's engine.

Their users switch by changing an import:

    from calflops import calculate_flops                      # before
    from flopsight.compat.calflops import calculate_flops     # after

    from deepspeed.profiling.flops_profiler import get_model_profile, FlopsProfiler
    from flopsight.compat.deepspeed import get_model_profile, FlopsProfiler

The arguments and the kinds of values returned are theirs; the numbers are flopsight's (every
aten op counted, backward measured). Each module's docstring lists what differs on purpose.
"""
