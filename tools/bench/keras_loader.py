"""Keras' side of the loader benchmark: image_dataset_from_directory iterated fully.

Usage: keras_loader.py DIR SIZE BATCH EPOCHS. Prints one JSON line:
{"images": n, "seconds": [per epoch], "cpu_seconds": [per epoch], "peak_rss_mb": m}.
Timing covers building the dataset (listing) and iterating every batch; imports
are excluded. cpu_seconds is the process' user + system CPU time (all threads).
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402


def main():
    directory, size, batch, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    seconds = []
    cpu_seconds = []
    n = 0

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    t0 = time.perf_counter()
    c0 = cpu()
    ds = keras.utils.image_dataset_from_directory(
        directory, image_size=(size, size), batch_size=batch, shuffle=False, verbose=False
    )
    for e in range(epochs):
        n = 0
        for x, _ in ds:
            n += int(x.shape[0])
        t1 = time.perf_counter()
        c1 = cpu()
        seconds.append(t1 - t0)
        cpu_seconds.append(c1 - c0)
        t0, c0 = t1, c1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images": n, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": rss}))


if __name__ == "__main__":
    main()
