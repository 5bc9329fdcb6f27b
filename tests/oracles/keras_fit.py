"""Keras 3 oracle for lib/train/fit.ts: trains the tiny test model
(Rescaling(1/255) -> Flatten -> Dense(hidden, relu) -> Dense(k, softmax)) from
given initial weights on given batches (no shuffling) with Adam,
categorical cross-entropy, accuracy, optional class weights and validation
data, and prints the per-epoch history plus evaluate() and predict().

stdin JSON: {shape: [h, w, c], classes, hidden, weights: {hidden/kernel, hidden/bias,
out/kernel, out/bias}, x, y (int labels), val_x, val_y, batch_size, epochs,
learning_rate, class_weight (list or null), sparse (bool)}
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

inp = json.load(sys.stdin)
h, w, c = inp["shape"]
k = inp["classes"]
keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input((h, w, c)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Flatten(),
        keras.layers.Dense(inp["hidden"], activation="relu", name="hidden"),
        keras.layers.Dense(k, activation="softmax", name="out"),
    ]
)
W = inp["weights"]
model.get_layer("hidden").set_weights(
    [np.array(W["hidden/kernel"], "float32"), np.array(W["hidden/bias"], "float32")]
)
model.get_layer("out").set_weights(
    [np.array(W["out/kernel"], "float32"), np.array(W["out/bias"], "float32")]
)
sparse = inp.get("sparse", False)
model.compile(
    optimizer=keras.optimizers.Adam(inp["learning_rate"]),
    loss="sparse_categorical_crossentropy" if sparse else "categorical_crossentropy",
    metrics=["accuracy"],
)


def data(xs, ys):
    x = np.array(xs, "float32").reshape((-1, h, w, c))
    y = np.array(ys, "int32")
    return x, (y if sparse else keras.utils.to_categorical(y, k))


x, y = data(inp["x"], inp["y"])
vx, vy = data(inp["val_x"], inp["val_y"])
cw = inp.get("class_weight")
hist = model.fit(
    x,
    y,
    batch_size=inp["batch_size"],
    epochs=inp["epochs"],
    shuffle=False,
    class_weight=None if cw is None else {i: float(v) for i, v in enumerate(cw)},
    validation_data=(vx, vy),
    verbose=0,
)
loss, acc = model.evaluate(vx, vy, batch_size=inp["batch_size"], verbose=0)
probs = model.predict(vx, batch_size=inp["batch_size"], verbose=0)
print(
    json.dumps(
        {
            "history": {k2: [float(v) for v in vals] for k2, vals in hist.history.items()},
            "evaluate": {"loss": float(loss), "accuracy": float(acc)},
            "probs": probs.tolist(),
        }
    )
)
