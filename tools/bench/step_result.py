"""What both Python peers of the train bench share (keras_train.py, torch_train.py):
their command-line flags, and the one result line they print (median step time,
images/s and peak RSS measured the same way for both, as tools/bench/peers.ts reads it)."""

import argparse
import json
import statistics


def step_args():
    """The flags every peer takes (a peer adds its own before parsing)."""
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--classes", type=int, default=23)
    return p


def peak_rss_bytes():
    """Peak resident memory of this process (VmHWM), bytes; 0 where /proc has none."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def print_result(side, args, times, losses, detail):
    """Prints the JSON line of one run: `times` are the timed steps' seconds (after
    warm-up), `losses` every step's loss, `args` the parsed --size/--batch/--steps."""
    med = statistics.median(times)
    print(
        json.dumps(
            {
                "side": side,
                "size": args.size,
                "batch": args.batch,
                "steps": args.steps,
                "medianStepS": med,
                "stepS": times,
                "imgPerS": args.batch / med,
                "peakRssBytes": peak_rss_bytes(),
                "firstLoss": losses[0],
                "lastLoss": losses[-1],
                "detail": detail,
            }
        ),
        flush=True,
    )
