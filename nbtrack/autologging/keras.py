"""Keras 3 (any backend; tested with JAX on CPU): ``Model.fit`` logs its arguments (``epochs``,
``batch_size``, ``validation_split``, ...), the optimizer (``optimizer_name`` and
``optimizer_<key>`` of its config, as MLflow names them), the loss and the number of weights
(``num_params``), each epoch's logs (``loss``, ``val_loss``, ``accuracy``...) as step metrics
through a callback added to a copy of the user's callbacks, early stopping when an
``EarlyStopping`` callback is present (its ``monitor``, ``patience``... as params;
``stopped_epoch`` and ``restored_epoch`` as metrics, and, as MLflow does, the restored epoch's
metrics again at the step after the last epoch, so a metric's latest value is the returned
model's), and the trained model in the ``.keras`` format."""

from __future__ import annotations

import inspect
from types import ModuleType
from typing import Any

from nbtrack.autologging import config, enabled
from nbtrack.autologging.patching import FitLogger, patch
from nbtrack.autologging.runs import end_fit_run, log_metrics, log_params, run_for_fit
from nbtrack.errors import warn_failure
from nbtrack.recording.models import log_model_to

# fit's arguments not logged: the data, the callbacks and the console output
UNLOGGED = {"self", "x", "y", "callbacks", "validation_data", "verbose", "sample_weight"}
EARLY_STOPPING = ("monitor", "min_delta", "patience", "baseline", "restore_best_weights")
DEFAULT_BATCH_SIZE = 32  # Keras's batch size for arrays when none is given


def install(module: ModuleType) -> None:
    """Patch ``fit`` on the class of ``keras.Model``'s bases that defines it (the backend's
    trainer, e.g. ``JAXTrainer``): every model class inherits it."""
    owner = next(k for k in module.Model.__mro__ if "fit" in k.__dict__)
    signature = inspect.signature(owner.__dict__["fit"])

    def make_logger(*args: Any, **kwargs: Any) -> KerasFit | None:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:  # fit raises it to the user itself
            return None
        return KerasFit(module, bound)

    patch("keras", owner, "fit", make_logger, lambda: enabled("keras"))


def _flat(callbacks: Any) -> list[Any]:
    """The callbacks of ``fit(callbacks=...)``: a list, a tuple, one callback or a CallbackList."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (list, tuple)):
        return [c for item in callbacks for c in _flat(item)]
    inner = getattr(callbacks, "callbacks", None)
    return list(inner) if isinstance(inner, list) else [callbacks]


def _name(obj: Any) -> str:
    """A loss or optimizer as its user would name it: ``"binary_crossentropy"``, ``"adam"``."""
    if isinstance(obj, str) or obj is None:
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return str([_name(o) for o in obj])
    if isinstance(obj, dict):
        return str({k: _name(o) for k, o in obj.items()})
    return str(getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__)


def _optimizer_name(optimizer: Any, name: Any) -> Any:
    """Its name without the suffix Keras adds to make names unique: the fifth ``"sgd"`` optimizer
    of a session is named ``sgd_4``; a name the user chose is left as it is."""
    base, _, n = str(name).rpartition("_")
    return base if n.isdigit() and base.lower() == type(optimizer).__name__.lower() else name


def _param(value: Any) -> Any:
    """A float32 (Keras keeps the learning rate as one) as its short decimal: 0.01, not
    0.009999999776482582."""
    if isinstance(value, float):
        import numpy as np

        if float(np.float32(value)) == value:
            return str(np.float32(value))
    return value


class KerasFit(FitLogger):
    def __init__(self, keras: ModuleType, bound: inspect.BoundArguments):
        self.keras, self.bound = keras, bound
        self.model = bound.arguments["self"]
        self.user_callbacks = _flat(bound.arguments.get("callbacks"))
        self.early = next(
            (c for c in self.user_callbacks if isinstance(c, keras.callbacks.EarlyStopping)), None
        )
        self.logged_epochs = 0
        self.warned = False
        self.run, self.owned = run_for_fit(type(self.model).__name__, "keras")
        self.run.set_tags({"keras_backend": str(keras.backend.backend())})
        log_params(self.run, self._fit_params())

    def _fit_params(self) -> dict[str, Any]:
        args = inspect.BoundArguments(self.bound.signature, self.bound.arguments.copy())
        args.apply_defaults()
        params = {k: val for k, val in args.arguments.items() if k not in UNLOGGED}
        if params.get("batch_size") is None and hasattr(args.arguments.get("x"), "shape"):
            params["batch_size"] = DEFAULT_BATCH_SIZE
        if self.early is not None:
            for key in EARLY_STOPPING:
                value = getattr(self.early, key, None)
                params[key] = abs(value) if key == "min_delta" and value is not None else value
        return params

    def prepare(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Our callback appended to a new list; a CallbackList the user built is passed as it is
        (its epochs are then read off the History ``fit`` returns)."""
        callbacks = self.bound.arguments.get("callbacks")
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            if isinstance(callbacks, self.keras.callbacks.CallbackList) or not isinstance(
                callbacks, self.keras.callbacks.Callback
            ):
                return args, kwargs
            callbacks = [callbacks]
        self.bound.arguments["callbacks"] = [*(callbacks or []), _callback(self.keras, self)]
        return self.bound.args, self.bound.kwargs

    # called from inside fit by the callback: each must never raise
    def train_begin(self) -> None:
        self._safely("the model of", self._log_model_params)

    def epoch_end(self, epoch: int, logs: Any) -> None:
        self.logged_epochs += 1
        self._safely(
            f"epoch {epoch} of", lambda: log_metrics(self.run, (logs or {}).items(), epoch)
        )

    def _log_model_params(self) -> None:
        model = self.model
        params: dict[str, Any] = {"loss": _name(getattr(model, "loss", None))}
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None:
            params.update({f"optimizer_{k}": _param(v) for k, v in optimizer.get_config().items()})
            params["optimizer_name"] = _optimizer_name(optimizer, params.get("optimizer_name"))
        params["num_params"] = model.count_params()
        log_params(self.run, params)

    def _safely(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:
            if not self.warned:
                self.warned = True
                warn_failure(f"autolog: could not log {what} keras fit", exc)

    def failed(self, exc: BaseException) -> None:
        end_fit_run(self.run, self.owned, failed=True)

    def finished(self, history: Any) -> None:
        try:
            epochs = list(getattr(history, "epoch", None) or [])
            by_metric = dict(getattr(history, "history", None) or {})
            if not self.logged_epochs:  # a CallbackList: no callback of ours ran
                self._log_model_params()
                for i, epoch in enumerate(epochs):
                    log_metrics(self.run, [(k, vals[i]) for k, vals in by_metric.items()], epoch)
            if self.early is not None:
                self._log_early_stopping(epochs, by_metric)
            if config.log_models:
                log_model_to(self.run, self.model, "model")
        finally:
            end_fit_run(self.run, self.owned)

    def _log_early_stopping(self, epochs: list[int], by_metric: dict[str, list[Any]]) -> None:
        early: Any = self.early
        stopped = getattr(early, "stopped_epoch", 0)
        if stopped:
            log_metrics(self.run, [("stopped_epoch", stopped)])
        if not getattr(early, "restore_best_weights", False) or early.best_weights is None:
            return
        restored = early.best_epoch
        log_metrics(self.run, [("restored_epoch", restored)])
        if epochs and restored in epochs and restored != epochs[-1]:
            i = epochs.index(restored)
            log_metrics(self.run, [(k, vals[i]) for k, vals in by_metric.items()], epochs[-1] + 1)


def _callback(keras: ModuleType, fit: KerasFit) -> Any:
    class LogEpochs(keras.callbacks.Callback):  # type: ignore[name-defined,misc]
        """Logs each epoch's metrics as it ends; never stops or changes the training."""

        def on_train_begin(self, logs: Any = None) -> None:
            fit.train_begin()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            fit.epoch_end(epoch, logs)

    return LogEpochs()
