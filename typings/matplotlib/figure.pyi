from os import PathLike
from typing import Literal

from .axes import Axes

class Figure:
    def __init__(
        self,
        figsize: tuple[float, float] | None = ...,
        layout: Literal["constrained", "tight"] | None = ...,
    ) -> None: ...
    def add_subplot(self, nrows: int, ncols: int, index: int) -> Axes: ...
    def suptitle(self, t: str, *, fontsize: float | str | None = ...) -> object: ...
    def savefig(self, fname: str | PathLike[str], *, dpi: float | None = ...) -> None: ...
