"""Keras 3 autologging in a real kernel (JAX backend on CPU): a tiny model trained for 3 epochs
on 200 rows logs its fit arguments, optimizer, loss and size, each epoch's metrics by step, early
stopping, and a model that loads back and predicts the same; the user's callbacks and errors are
theirs; ``autolog(disable=True)``, ``exclude_flavors`` and ``log_models=False`` are honoured."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import read_run
from nbtrack.query.search import get_metric_history, search_runs
from nbtrack.store import open_store

# found, not imported: keras imports its backend (TensorFlow by default) on import, and only the
# kernel chooses JAX
if not all(importlib.util.find_spec(m) for m in ("keras", "jax")):
    pytest.skip("keras and jax are not installed", allow_module_level=True)

MODEL = """
import numpy as np
rng = np.random.RandomState(0)
X = rng.rand(200, 4).astype("float32")
y = (X[:, 0] + 0.5 * X[:, 1] > 0.75).astype("float32")

def make_model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
              metrics=["accuracy"])
    return m
"""


def runs(store_dir: Path) -> Any:
    return search_runs(store=open_store(store_dir), order_by=["attributes.start_time"])


def result(k: Any, expr: str) -> Any:
    out = k.ok(f"import json as _j\nprint(_j.dumps({expr}))")
    return json.loads(out["stdout"].strip().splitlines()[-1])


@pytest.fixture
def keras_kernel(start_kernel: Any) -> Any:
    """A kernel on the JAX backend (the user's choice: nbtrack sets none) with autolog on before
    keras is imported: the import hook patches ``fit`` on import."""
    k = start_kernel(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    k.ok("%load_ext nbtrack")
    k.ok("nbtrack.autolog()")
    k.ok("import keras\n" + MODEL)
    return k


def test_a_fit_logs_params_epoch_metrics_and_a_model_that_predicts_the_same(
    keras_kernel, store_dir
):
    k = keras_kernel
    k.ok(
        "mine = [keras.callbacks.TerminateOnNaN()]\n"
        "model = make_model()\n"
        "history = model.fit(X, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0, "
        "callbacks=mine)"
    )
    assert result(k, "[len(mine), type(history).__name__]") == [1, "History"]  # theirs, untouched
    (run,) = runs(store_dir).to_dict("records")
    assert run["run_name"] == "Sequential" and run["tags.autolog"] == "keras"
    assert run["tags.keras_backend"] == "jax"
    assert run["params.epochs"] == "3" and run["params.batch_size"] == "32"
    assert run["params.validation_split"] == "0.2"
    assert run["params.optimizer_name"] == "adam"
    assert run["params.optimizer_learning_rate"] == "0.01"
    assert run["params.loss"] == "binary_crossentropy"
    assert run["params.num_params"] == str(result(k, "model.count_params()"))
    store = open_store(store_dir)
    expected = result(k, "{m: [float(x) for x in v] for m, v in history.history.items()}")
    assert set(expected) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for metric, values in expected.items():
        series = get_metric_history(run["run_id"], metric, store=store)
        assert list(series["step"]) == [0, 1, 2], metric
        assert list(series["value"]) == pytest.approx(values), metric
    (model,) = read_run(store, run["run_id"])["models"]
    assert model["flavor"] == "keras"
    assert model["versions"]["keras"] == result(k, "keras.__version__")
    loaded = f"nbtrack.load_model({run['run_id']!r})"
    k.ok(f"loaded = {loaded}")
    assert result(k, "type(loaded).__name__") == "Sequential"
    assert result(k, "bool((loaded.predict(X, verbose=0) == model.predict(X, verbose=0)).all())")


def test_early_stopping_is_logged_and_the_restored_model_is_the_one_stored(keras_kernel, store_dir):
    k = keras_kernel
    # no epoch improves the loss by 10: training stops after epoch 1, epoch 0's weights restored
    k.ok(
        "model = make_model()\n"
        "stop = keras.callbacks.EarlyStopping(monitor='loss', min_delta=10, patience=1, "
        "restore_best_weights=True)\n"
        "history = model.fit(X, y, epochs=20, verbose=0, callbacks=stop)"
    )
    (run,) = runs(store_dir).to_dict("records")
    assert result(k, "history.epoch") == [0, 1]
    assert run["params.patience"] == "1" and run["params.monitor"] == "loss"
    assert run["params.restore_best_weights"] == "True" and run["params.min_delta"] == "10"
    assert run["metrics.stopped_epoch"] == 1 and run["metrics.restored_epoch"] == 0
    # as MLflow: the restored epoch's metrics again after the last epoch, the latest values
    loss = get_metric_history(run["run_id"], "loss", store=open_store(store_dir))
    first = result(k, "history.history['loss'][0]")
    assert list(loss["step"]) == [0, 1, 2] and loss["value"].iloc[2] == pytest.approx(first)
    assert run["metrics.loss"] == pytest.approx(first)
    same = f"(nbtrack.load_model({run['run_id']!r}).predict(X, verbose=0) == model.predict(X, verbose=0)).all()"
    assert result(k, f"bool({same})")


def test_disable_exclude_and_errors_leave_fit_as_keras_wrote_it(keras_kernel, store_dir):
    k = keras_kernel
    k.ok("from keras.src.backend.jax.trainer import JAXTrainer")
    assert result(k, "JAXTrainer.fit.__module__ == 'keras.src.backend.jax.trainer'")
    assert result(k, "getattr(JAXTrainer.fit, '__nbtrack_patch__', False)")
    # the user's error reaches them, and the run it started says it failed
    out = k.run("make_model().fit(X[:, :3], y, epochs=1, verbose=0)")
    assert out["error"] is not None and "NbtrackWarning" not in out["stderr"]
    assert list(runs(store_dir)["status"]) == ["failed"]
    # log_models=False: params and metrics, no model
    k.ok("nbtrack.autolog(log_models=False)")
    k.ok("make_model().fit(X, y, epochs=1, verbose=0)")
    last = runs(store_dir).iloc[-1]
    assert last["params.epochs"] == "1"
    assert last["params.optimizer_name"] == "adam"  # not Keras's unique "adam_2"
    assert read_run(open_store(store_dir), last["run_id"])["models"] == []
    # excluded, then disabled: keras's own fit, and a fit logs nothing
    k.ok("nbtrack.autolog(exclude_flavors=['keras'])")
    assert result(k, "not hasattr(JAXTrainer.fit, '__nbtrack_patch__')")
    k.ok("nbtrack.autolog()\nnbtrack.autolog(disable=True)")
    assert result(k, "not hasattr(JAXTrainer.fit, '__nbtrack_patch__')")
    k.ok("make_model().fit(X, y, epochs=1, verbose=0)")
    assert len(runs(store_dir)) == 2
