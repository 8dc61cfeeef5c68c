"""The Keras archive (`.keras`) for resuming training: `save_keras` and `load_keras`.

The archive keeps the optimizer state: training resumes exactly where it stopped.
"""

import os
import tempfile
import zipfile

import keras


def _check_keras_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a string or a path. Received: path={path!r}")
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"A Keras archive path must end with '.keras'. Received: path={path!r}")
    return path


def save_keras(model, path, overwrite=True):
    """Saves a model with its weights, compile configuration and optimizer state.

    Training resumes where it stopped after `load_keras`: the optimizer's moments and step
    counter (and with it a learning-rate schedule) come back with the weights.

    The save is atomic: the archive is written to a temporary file in the same folder and
    renamed over `path` when complete, so an interrupted save leaves the previous file as it
    was.

    Args:
        model: a `keras.Model`.
        path: str or path-like ending in `.keras`; parent directories are created.
        overwrite: bool. Defaults to `True`.

    Returns:
        The path, a string.

    Example:

    >>> import tempfile
    >>> from transformer_keras.models import build_text_classifier
    >>> from transformer_keras.export import load_keras, save_keras
    >>> model = build_text_classifier(50, 2, sequence_length=6, embedding_dim=16, num_heads=2)
    >>> path = save_keras(model, tempfile.mkdtemp() + "/classifier.keras")
    >>> load_keras(path).count_params() == model.count_params()
    True
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model. Received: model={model!r}")
    path = _check_keras_path(path)
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"{path!r} exists and overwrite=False.")
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    # Atomic: write a temporary archive beside the target, then rename it over the target.
    # An interrupted save leaves the previous archive untouched (and no temporary file).
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp.keras", dir=parent
    )
    os.close(handle)
    try:
        model.save(temporary, overwrite=True)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def load_keras(path, compile=True, custom_objects=None):
    """Loads a `.keras` archive saved by `save_keras` (or `model.save`), optimizer included.

    Args:
        path: str or path-like ending in `.keras`.
        compile: bool. Restore the loss, metrics and optimizer (with its state).
            Defaults to `True`.
        custom_objects: dict of objects not registered with Keras.

    Returns:
        The `keras.Model`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `path` is a SavedModel directory, does not end in `.keras`, or is not a
            loadable archive (not a zip, truncated, damaged, missing weights); the message
            names the path and the cause.

    Example:

    >>> from transformer_keras.export import load_keras
    >>> load_keras("/no/such/model.keras")
    Traceback (most recent call last):
    ...
    FileNotFoundError: No Keras archive at '/no/such/model.keras': the path does not exist.
    """
    if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
        raise ValueError(
            f"{os.fspath(path)!r} is a directory (a SavedModel?), not a .keras archive: load "
            "it with transformer_keras.export.load_saved_model or keras.layers.TFSMLayer."
        )
    path = _check_keras_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No Keras archive at {path!r}: the path does not exist.")
    # Register this package's serializable classes before deserializing.
    import transformer_keras.layers  # noqa: F401
    import transformer_keras.models  # noqa: F401
    import transformer_keras.training  # noqa: F401

    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a Keras archive: a .keras file is a zip archive, and this file "
            "is not one (empty, truncated, or another kind of file)."
        )
    # Check every member's CRC first: Keras reads the weights with seeks, which skip the
    # zip's checksums, so a damaged archive could otherwise load with wrong weights.
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        damaged = f"({type(error).__name__}: {error})"
    if damaged is not None:
        raise ValueError(
            f"{path!r} is a damaged Keras archive: member {damaged} fails its checksum. The "
            "file was truncated or corrupted; save the model again."
        )
    try:
        return keras.models.load_model(path, compile=compile, custom_objects=custom_objects)
    except (zipfile.BadZipFile, ValueError, OSError, KeyError, EOFError) as error:
        raise ValueError(
            f"Could not load the Keras archive {path!r}: {type(error).__name__}: {error}. "
            "The file may be damaged or incomplete (an interrupted save), or need "
            "`custom_objects` for classes that are not registered with Keras."
        ) from error
