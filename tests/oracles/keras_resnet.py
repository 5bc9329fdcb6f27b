"""Keras 3 ResNet50 oracle for tests/models_*_test.ts.

JSON on stdin: {"command": ..., ...}; JSON on stdout.

- arch: {"sizes": [128, ...], "variants": [{"classes", "include_top", "pooling"}]}
    -> per (size, variant): layer names, classes, output shapes, parameter
       counts, total / trainable / non-trainable counts.
- weights: {"dir", "size", "batch", "seed", "labels"} -> writes a random-init
    ResNet50(classes=23) with calibrated BatchNorm statistics as
    legacy.h5 (save_weights_to_hdf5_group), full.h5 (model.save),
    model.weights.h5 (save_weights), notop_tf2.h5 (the layout of Keras'
    official *_notop.h5: byte-string attributes, ":0" weight names), and
    returns the inputs, the softmax predictions and the notop avg features;
    also notop.weights.h5, untagged.weights.h5 (no layer-name tags) and
    renamed_tf2.h5 (notop_tf2.h5 with every layer renamed "old_..."); and a
    training-mode pass: outputs, cross-entropy loss, gradients of conv1_conv,
    conv4_block6_3_conv and predictions kernels.
- bn: {"x", "gamma", "beta", "mean", "variance", "momentum", "epsilon"}
    -> a BatchNormalization layer called with training=True (trainable and
       frozen): outputs and moving statistics after the call.
- preprocess: {"x"} -> keras.applications.resnet50.preprocess_input(x).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from random_batch_norm import randomize_batch_norm  # noqa: E402


def count(weights):
    return int(sum(int(np.prod(w.shape)) for w in weights))


def arch(req):
    out = []
    for size in req["sizes"]:
        for v in req["variants"]:
            m = keras.applications.ResNet50(
                weights=None,
                include_top=v.get("include_top", True),
                pooling=v.get("pooling"),
                classes=v.get("classes", 1000),
                input_shape=(size, size, 3),
            )
            out.append(
                {
                    "size": size,
                    "variant": v,
                    "layers": [
                        {
                            "name": layer.name,
                            "class": layer.__class__.__name__,
                            "output_shape": list(layer.output.shape),
                            "params": int(layer.count_params()) if layer.built else 0,
                        }
                        for layer in m.layers
                    ],
                    "total": int(m.count_params()),
                    "trainable": count(m.trainable_weights),
                    "non_trainable": count(m.non_trainable_weights),
                }
            )
            del m
            keras.backend.clear_session()
    return out


def save_tf2_style(model, path, prefix=""):
    """Legacy HDF5 weights as tf.keras 2 wrote them (Keras' official files);
    `prefix` renames every layer (a file whose names differ from the model's)."""
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["layer_names"] = np.array(
            [(prefix + layer.name).encode("utf8") for layer in model.layers]
        )
        for layer in model.layers:
            name = prefix + layer.name
            g = f.create_group(name)
            ws = layer.weights
            names = [f"{name}/{w.path.split('/')[-1]}:0" for w in ws]
            g.attrs["weight_names"] = np.array([n.encode("utf8") for n in names]) if names else np.array([])
            for n, w in zip(names, ws):
                g.create_dataset(n, data=np.asarray(w.numpy(), dtype=np.float32))


def weights(req):
    from keras.src.legacy.saving import legacy_h5_format

    d = req["dir"]
    size = req["size"]
    batch = req["batch"]
    rng = np.random.default_rng(req["seed"])
    keras.utils.set_random_seed(req["seed"])
    model = keras.applications.ResNet50(weights=None, classes=23, input_shape=(size, size, 3))
    # Non-trivial BatchNorm parameters, statistics from 4 random images.
    randomize_batch_norm(
        model, rng, lambda rng: rng.uniform(0, 255, (4, size, size, 3)).astype("float32")
    )
    x = rng.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    preds = model.predict(x, verbose=0)

    with h5py.File(os.path.join(d, "legacy.h5"), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    model.save(os.path.join(d, "full.h5"))
    model.save_weights(os.path.join(d, "model.weights.h5"))

    notop = keras.applications.ResNet50(
        weights=None, include_top=False, pooling="avg", input_shape=(size, size, 3)
    )
    for layer in notop.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    features = notop.predict(x, verbose=0)
    save_tf2_style(notop, os.path.join(d, "notop_tf2.h5"))
    save_tf2_style(notop, os.path.join(d, "renamed_tf2.h5"), prefix="old_")
    notop.save_weights(os.path.join(d, "notop.weights.h5"))
    # A .weights.h5 without the layer-name tags (older Keras 3 writers).
    with h5py.File(os.path.join(d, "model.weights.h5"), "r") as src, h5py.File(
        os.path.join(d, "untagged.weights.h5"), "w"
    ) as dst:
        for key in src:
            src.copy(src[key], dst, name=key)
        dst.visititems(lambda _, o: o.attrs.__delitem__("name") if "name" in o.attrs else None)
    # One training-mode forward/backward (batch statistics), after the saves:
    # categorical cross-entropy against req["labels"], gradients of a few kernels.
    import tensorflow as tf

    labels = np.eye(23, dtype="float32")[req["labels"]]
    grad_layers = ["conv1_conv", "conv4_block6_3_conv", "predictions"]
    with tf.GradientTape() as tape:
        train_out = model(x, training=True)
        loss = tf.reduce_mean(keras.losses.categorical_crossentropy(labels, train_out))
    kernels = [model.get_layer(n).kernel for n in grad_layers]
    grads = tape.gradient(loss, [k.value for k in kernels])
    return {
        "train_preds": np.asarray(train_out).tolist(),
        "train_loss": float(loss),
        "grads": {n: np.asarray(g).ravel().tolist() for n, g in zip(grad_layers, grads)},
        "x": x.tolist(),
        "preds": preds.tolist(),
        "features": features.tolist(),
        "keras_version": keras.__version__,
    }


def bn(req):
    x = np.array(req["x"], dtype="float32")
    out = {}
    for mode in ("trainable", "frozen"):
        layer = keras.layers.BatchNormalization(momentum=req["momentum"], epsilon=req["epsilon"])
        layer.build(x.shape)
        layer.set_weights(
            [np.array(req[k], dtype="float32") for k in ("gamma", "beta", "mean", "variance")]
        )
        layer.trainable = mode == "trainable"
        y = layer(x, training=True)
        out[mode] = {
            "y": np.asarray(y).tolist(),
            "moving_mean": layer.moving_mean.numpy().tolist(),
            "moving_variance": layer.moving_variance.numpy().tolist(),
        }
    return out


def preprocess(req):
    from keras.applications.resnet50 import preprocess_input

    x = np.array(req["x"], dtype="float32")
    return {"y": np.asarray(preprocess_input(x.copy())).tolist()}


def main():
    req = json.load(sys.stdin)
    cmd = req["command"]
    result = {"arch": arch, "weights": weights, "bn": bn, "preprocess": preprocess}[cmd](req)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
