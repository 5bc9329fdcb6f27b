"""Keras 3 oracle for lib/train/callbacks.ts: runs real `model.fit` loops on a
dummy model with EarlyStopping and ModelCheckpoint, where a first callback
overwrites the epoch logs with scripted values (val_accuracy, val_loss, ...)
and stamps the epoch into a weight (so restored weights tell their epoch).

stdin JSON: [{fits: [{<metric>: [values per epoch]}...], epochs,
              early: {monitor, min_delta, patience, mode, baseline,
                      restore_best_weights, start_from_epoch} | null,
              checkpoint: {monitor, mode, save_best_only,
                           initial_value_threshold} | null}]
stdout JSON: per scenario, per fit: {epochs_run, stopped_epoch, best_epoch,
  early_best, weights_epoch, saved_epochs, checkpoint_best}
"""
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

keras.utils.set_random_seed(0)
x = np.zeros((4, 2), "float32")
y = keras.utils.to_categorical([0, 1, 0, 1], 2)


class Script(keras.callbacks.Callback):
    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        for name, seq in self.values.items():
            logs[name] = float(seq[epoch])
        # stamp the epoch into the output bias (no training step follows an epoch end)
        layer = self.model.get_layer("out")
        kernel, bias = layer.get_weights()
        bias[0] = 100.0 + epoch
        layer.set_weights([kernel, bias])


def opt(d, key, default):
    v = d.get(key)
    return default if v is None else v


results = []
for sc in json.load(sys.stdin):
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(2, activation="softmax", name="out")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    tmp = tempfile.mkdtemp()
    cbs = []
    early = ckpt = None
    if sc.get("early"):
        e = sc["early"]
        early = keras.callbacks.EarlyStopping(
            monitor=opt(e, "monitor", "val_loss"),
            min_delta=opt(e, "min_delta", 0),
            patience=opt(e, "patience", 0),
            mode=opt(e, "mode", "auto"),
            baseline=e.get("baseline"),
            restore_best_weights=opt(e, "restore_best_weights", False),
            start_from_epoch=opt(e, "start_from_epoch", 0),
        )
        cbs.append(early)
    if sc.get("checkpoint"):
        c = sc["checkpoint"]
        ckpt = keras.callbacks.ModelCheckpoint(
            os.path.join(tmp, "ck_{epoch:03d}.weights.h5"),
            monitor=opt(c, "monitor", "val_loss"),
            mode=opt(c, "mode", "auto"),
            save_best_only=opt(c, "save_best_only", False),
            save_weights_only=True,
            initial_value_threshold=c.get("initial_value_threshold"),
        )
        cbs.append(ckpt)
    fits = []
    for values in sc["fits"]:
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        hist = model.fit(x, y, epochs=sc["epochs"], batch_size=4, verbose=0,
                         callbacks=[Script(values)] + cbs)
        saved = sorted(int(f[3:6]) - 1 for f in os.listdir(tmp))
        fits.append({
            "epochs_run": len(hist.epoch),
            "stopped_epoch": early.stopped_epoch if early else None,
            "best_epoch": early.best_epoch if early else None,
            "early_best": None if early is None or early.best is None else float(early.best),
            "weights_epoch": int(round(float(model.get_layer("out").get_weights()[1][0]) - 100)),
            "saved_epochs": saved if ckpt else None,
            "checkpoint_best": None if ckpt is None or ckpt.best is None else float(ckpt.best),
        })
    results.append(fits)
print(json.dumps(results))
