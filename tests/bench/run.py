"""`make bench`: the benchmark harness (filled in by the benchmarks issue)."""

import sys


def main() -> int:
    print("No benchmarks yet.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
