"""matplotlib, imported only when a figure is drawn, and saving a figure as a PNG.

matplotlib is an optional dependency (`pip install 'transformer_keras[examples]'`): the
plotting functions call `pyplot()` when they draw, so `transformer_keras.analysis` imports
without it and plotting without it raises an ImportError that says what to install.
"""

import os
import sys

MATPLOTLIB_MESSAGE = (
    "matplotlib is required for plotting: pip install 'transformer_keras[examples]'"
)


def pyplot():
    """Imports matplotlib.pyplot lazily, choosing the Agg backend when there is no display.

    Returns:
        The `matplotlib.pyplot` module.
    """
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(MATPLOTLIB_MESSAGE) from err
    if "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
        headless = sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )
        if headless:
            matplotlib.use("Agg")
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(MATPLOTLIB_MESSAGE) from err
    return plt


def save(fig, path):
    """Saves `fig` as a PNG at `path` (folders are created) unless `path` is None.

    Returns:
        The figure.
    """
    if path is not None:
        path = os.fspath(path)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
    return fig
