"""The one result line both Python peers of the train bench print (keras_train.py,
torch_train.py): median step time, images/s and peak RSS measured the same way for
both, as tools/bench/peers.ts reads it."""

import json
import statistics


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
