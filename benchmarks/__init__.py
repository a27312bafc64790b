"""bayessa's performance suite: ``python -m benchmarks [data|fit|all]`` (``make bench``)."""
