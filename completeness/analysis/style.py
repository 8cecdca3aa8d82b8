"""One palette and one matplotlib style sheet for every figure and report of the package.

Colours come from the Okabe-Ito palette (M. Okabe and K. Ito, *Color Universal Design*, 2002;
B. Wong, Nat. Methods 8, 441 (2011)), which stays distinguishable with every common colour-vision
deficiency and in greyscale (the verdict colours differ in lightness as well as hue).
The style sheet ``completeness/assets/completeness.mplstyle`` sets fonts, the colour cycle and
``viridis`` as the default colour map; :func:`use` applies it inside a ``with`` block, so that
nothing leaks into the caller's matplotlib state. No function here selects a backend.
"""

from __future__ import annotations

import contextlib
from importlib import resources

__all__ = [
    "DESCRIPTOR_COLOURS",
    "OKABE_ITO",
    "VERDICT_COLOURS",
    "VERDICT_TEXT",
    "style_sheet",
    "use",
]

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: One colour per built-in descriptor, the same in every figure: the Okabe-Ito colours for the
#: body-order ladder (nu = 1, 2, 3, 4: sky blue, orange, blue, reddish purple; the density
#: correlations share the colour of the spectrum of the same body order), then colours of P. Tol's
#: colour-blind-safe "muted" scheme for the others.
DESCRIPTOR_COLOURS = {
    "radial-spectrum": OKABE_ITO["sky blue"],
    "power-spectrum": OKABE_ITO["orange"],
    "bispectrum": OKABE_ITO["blue"],
    "bispectrum-pseudoscalar": OKABE_ITO["vermillion"],
    "density-correlations-nu1": OKABE_ITO["sky blue"],
    "density-correlations-nu2": OKABE_ITO["orange"],
    "density-correlations-nu3": OKABE_ITO["blue"],
    "density-correlations-nu4": OKABE_ITO["reddish purple"],
    "acsf-g2": OKABE_ITO["bluish green"],
    "acsf-g2-g4": "#117733",
    "lmbtr-k2": "#DDCC77",
    "lmbtr-k3": "#999933",
    "zernike": "#666666",
    "chebyshev": "#332288",
    "schnet-like": "#44AA99",
    "tensor-product-net": "#882255",
    "overlap-fingerprint": "#AA4499",
}

#: Fill colour of each verdict (heat maps, bar charts, the HTML report).
VERDICT_COLOURS = {
    "resolved": OKABE_ITO["blue"],
    "degenerate": OKABE_ITO["vermillion"],
    "inconclusive": OKABE_ITO["yellow"],
    "error": "#BBBBBB",
}

#: Text colour readable on each verdict colour (contrast ratio >= 4.5).
VERDICT_TEXT = {
    "resolved": "#FFFFFF",
    "degenerate": "#000000",
    "inconclusive": "#000000",
    "error": "#000000",
}


def style_sheet() -> str:
    """Path of the style sheet (for ``matplotlib.pyplot.style.use``)."""
    return str(resources.files("completeness") / "assets" / "completeness.mplstyle")


@contextlib.contextmanager
def use():
    """``with style.use(): ...`` draws with the package's style sheet, then restores rcParams."""
    import matplotlib.pyplot as plt

    with plt.style.context(style_sheet()):
        yield
