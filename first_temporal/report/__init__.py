"""Key figures and a chart from the mart: `python -m first_temporal.report --out DIR`."""

from first_temporal.report.figures import Figures, read_figures

__all__ = ["Figures", "read_figures"]
