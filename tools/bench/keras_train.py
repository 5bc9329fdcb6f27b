"""Keras peer of tools/bench/train.ts: one run of ResNet50 training steps.

keras.applications.ResNet50(weights=None), 23 classes, Adam(1e-3),
categorical cross-entropy, random images; warm-up steps, then the median of
the timed steps. Prints one JSON line (same fields as the Deno worker).
Run by tools/bench.ts; by hand:
  .venv/bin/python tools/bench/keras_train.py --size 128 --steps 10
"""
import os
import time

# oneDNN: TensorFlow's default is on, but on some CPUs ResNet50 training dies
# with SIGFPE with it; tools/bench/train.ts passes TF_ENABLE_ONEDNN_OPTS and
# ONEDNN_MAX_CPU_ISA as the engine's probe found safe here (off when unset).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from step_result import print_result, step_args  # noqa: E402


def main():
    p = step_args()
    a = p.parse_args()

    model = keras.applications.ResNet50(
        weights=None, input_shape=(a.size, a.size, 3), classes=a.classes
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.random((a.batch, a.size, a.size, 3), dtype=np.float32)
    y = keras.utils.to_categorical([(i * 7) % a.classes for i in range(a.batch)], a.classes)
    losses, times = [], []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        loss = model.train_on_batch(x, y)
        dt = time.perf_counter() - t0
        losses.append(float(loss if np.isscalar(loss) else np.asarray(loss).ravel()[0]))
        if i >= a.warmup:
            times.append(dt)
    print_result(
        "keras",
        a,
        times,
        losses,
        f"Keras {keras.__version__}, TF {tf.__version__}, "
        f"jit_compile={model.jit_compile}, oneDNN "
        + (
            f"on (up to {os.environ.get('ONEDNN_MAX_CPU_ISA', 'default')})"
            if os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"
            else "off"
        ),
    )


if __name__ == "__main__":
    main()
