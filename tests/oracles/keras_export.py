"""Keras 3 side of the weight-export round trips (tests/models_export_test.ts).

JSON on stdin: {"command": "roundtrip", ...}; JSON on stdout.

- roundtrip: {"dir", "size", "classes", "seed", "x", "ours_scratch", "ours_transfer",
    "transfer": {"dense", "dropout", "pool"}}
    -> "scratch": keras.applications.ResNet50(weights=None, classes, input_shape)
         .load_weights(ours_scratch), then softmax and avg_pool features on
         preprocess_input(x) (our model has the preprocessing layer inside);
       "transfer": the study's head on ResNet50(include_top=False) as one
         functional model (Model(base.input, head(base.output))), loaded from
         ours_transfer, softmax on preprocess_input(x);
       "keras": a Keras ResNet50 with random gamma/beta and calibrated batch-norm
         statistics saved by Keras to <dir>/keras.weights.h5, its softmax and
         avg_pool features on preprocess_input(x);
       "keras_transfer": the transfer model with random weights saved to
         <dir>/keras_transfer.weights.h5, its softmax on preprocess_input(x);
       "nested": with {"nested": {"x", "sequential", "functional"}}, the outputs
         on x of Sequential([Sequential([Dense(3, relu), Dense(3)]), Dense(2)])
         and of Model(i, Dense(2)(Model(j, Dense(3)(j))(i))) loaded from those files.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras.applications.resnet50 import preprocess_input  # noqa: E402
from random_batch_norm import randomize_batch_norm  # noqa: E402


def features_and_preds(model, x):
    feats = keras.Model(model.input, model.get_layer("avg_pool").output)
    return {
        "preds": model.predict(x, verbose=0).tolist(),
        "features": feats.predict(x, verbose=0).tolist(),
    }


def transfer_model(size, classes, t):
    base = keras.applications.ResNet50(
        weights=None, include_top=False, input_shape=(size, size, 3)
    )
    for layer in base.layers:
        layer.trainable = False
    x = keras.layers.AveragePooling2D(pool_size=t["pool"])(base.output)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(t["dense"], activation="relu")(x)
    x = keras.layers.Dropout(t["dropout"])(x)
    out = keras.layers.Dense(classes, activation="softmax")(x)
    return keras.Model(base.input, out)


def randomize_bn(model, rng, px):
    """randomize_batch_norm with a calibration batch that holds the test images
    (at 32 px the last stage is 1x1: statistics from other images would put the
    features, and the softmax, far off scale) plus 13 random ones."""

    def calibration(rng):
        extra = preprocess_input(rng.uniform(0, 255, (13,) + px.shape[1:]).astype("float32"))
        return np.concatenate([px, extra])

    randomize_batch_norm(model, rng, calibration)


def roundtrip(req):
    size, classes = req["size"], req["classes"]
    x = np.array(req["x"], dtype="float32")
    px = preprocess_input(x.copy())
    rng = np.random.default_rng(req["seed"])
    keras.utils.set_random_seed(req["seed"])
    out = {"keras_version": keras.__version__}

    scratch = keras.applications.ResNet50(
        weights=None, classes=classes, input_shape=(size, size, 3)
    )
    scratch.load_weights(req["ours_scratch"])
    out["scratch"] = features_and_preds(scratch, px)

    transfer = transfer_model(size, classes, req["transfer"])
    transfer.load_weights(req["ours_transfer"])
    out["transfer"] = {"preds": transfer.predict(px, verbose=0).tolist()}

    mine = keras.applications.ResNet50(weights=None, classes=classes, input_shape=(size, size, 3))
    randomize_bn(mine, rng, px)
    mine.save_weights(os.path.join(req["dir"], "keras.weights.h5"))
    out["keras"] = features_and_preds(mine, px)

    mine_t = transfer_model(size, classes, req["transfer"])
    randomize_bn(mine_t, rng, px)
    mine_t.save_weights(os.path.join(req["dir"], "keras_transfer.weights.h5"))
    out["keras_transfer"] = {"preds": mine_t.predict(px, verbose=0).tolist()}

    n = req["nested"]
    nx = np.array(n["x"], dtype="float32")
    inner = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(3)]
    )
    seq = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2)])
    seq.load_weights(n["sequential"])
    j = keras.Input((4,))
    sub = keras.Model(j, keras.layers.Dense(3)(j))
    i = keras.Input((4,))
    fn = keras.Model(i, keras.layers.Dense(2)(sub(i)))
    fn.load_weights(n["functional"])
    out["nested"] = {
        "sequential": seq.predict(nx, verbose=0).tolist(),
        "functional": fn.predict(nx, verbose=0).tolist(),
    }
    return out


def main():
    req = json.load(sys.stdin)
    result = {"roundtrip": roundtrip}[req["command"]](req)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
