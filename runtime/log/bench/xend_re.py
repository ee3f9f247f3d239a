#!/usr/bin/env python3
"""The peer of `xsh logs bench`: what one writes with Python's `re` to read
an xend.log — the same records as xsh (a record is a line with xend's head;
every other line continues the record above it), counted by level and module.

Usage: python3 xend_re.py XEND_LOG   (prints one JSON object)
"""
import collections
import json
import re
import resource
import sys
import time

# xend's head as its formatter writes it, tried first: most lines have it.
FAST = re.compile(rb"\[([\d-]+ [\d:]+) (\d+)\] ([A-Z]+) \((\w+):(\d+)\) ")
# Every form: `[date time(,ms) (logger) pid (thread)] LEVEL (module:line  ) `.
HEAD = re.compile(
    rb"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d+)?) (?:(\S+) )?(\d+)(?: (\S+))?\] "
    rb"([A-Z]+) \(([\w<>-]+):(\d+) *\) ?(.*)"
)


def main():
    path = sys.argv[1]
    t0 = time.perf_counter()
    levels = collections.Counter()
    modules = collections.Counter()
    records = continuation = 0
    size = 0
    with open(path, "rb", buffering=1 << 20) as f:
        for line in f:
            size += len(line)
            # A continuation line cannot match: skip the regex for it.
            if line[:1] != b"[":
                continuation += 1
                continue
            m = FAST.match(line)
            if m:
                records += 1
                levels[m.group(3)] += 1
                modules[m.group(4)] += 1
                continue
            m = HEAD.match(line)
            if m:
                records += 1
                levels[m.group(5)] += 1
                modules[m.group(6)] += 1
            else:
                continuation += 1
    secs = time.perf_counter() - t0
    print(json.dumps({
        "bytes": size,
        "records": records,
        "continuation_lines": continuation,
        "levels": {k.decode(): v for k, v in sorted(levels.items())},
        "modules": {k.decode(): v for k, v in sorted(modules.items())},
        "seconds": secs,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "cpu_seconds": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
    }))


if __name__ == "__main__":
    main()
